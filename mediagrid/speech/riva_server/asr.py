"""``nvidia.riva.asr.RivaSpeechRecognition`` on webrtcvad endpointing and faster-whisper tiny.en.

Streaming follows Riva: the first request carries only the config, audio follows; the server finds the end
of each utterance itself (webrtcvad; ``endpointing_config.stop_history`` overrides the 800 ms default) and
answers it with one final result, and when the client closes its side, the utterance in progress is
finalised at once. Interim results are not produced (a whisper pass per interim would cost as much as the
final), and word time offsets are left empty.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import grpc
import numpy as np
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_asr_pb2_grpc as rasr_srv
from riva.client.proto import riva_audio_pb2 as raudio

from mediagrid.speech.riva_server.engines import SpeechEngines
from mediagrid.speech.audio import SPEECH_RATE, Resampler, pcm_from_bytes, strip_wav_header, to_float
from mediagrid.speech.errors import AudioFormatError
from mediagrid.speech.languages import primary
from mediagrid.speech.vad import VadSegmenter, VadSettings, VoiceEventKind
from mediagrid.speech.whisper import MODEL_NAME, Transcript

_RATES = (8_000, 96_000)
_MAX_UNSEGMENTED_S = 30  # audio kept for a stream in which the VAD never found speech
_SILENT_PEAK = 328  # -40 dBFS: a stream that never gets louder holds nothing to recognise
_PUNCTUATION = re.compile(r"[^\w\s']")


def _abort_invalid(context: grpc.ServicerContext, message: str) -> None:
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)


class _AudioInput:
    """A request's audio bytes as 16 kHz mono int16, read as its RecognitionConfig (or WAV header) says."""

    def __init__(self, config: rasr.RecognitionConfig, context: grpc.ServicerContext) -> None:
        encoding = config.encoding
        if encoding not in (raudio.LINEAR_PCM, raudio.ENCODING_UNSPECIFIED):
            _abort_invalid(context, f"audio encoding {raudio.AudioEncoding.Name(encoding)} is not supported by "
                                    "this server; send LINEAR_PCM (16-bit signed little-endian samples)")
        self.rate = config.sample_rate_hertz or SPEECH_RATE
        if not _RATES[0] <= self.rate <= _RATES[1]:
            _abort_invalid(context, f"sample_rate_hertz {self.rate} is outside {_RATES[0]}..{_RATES[1]}")
        self.channels = config.audio_channel_count or 1
        if self.channels not in (1, 2):
            _abort_invalid(context, f"audio_channel_count {self.channels} is not supported; send 1 or 2 channels")
        if config.language_code and primary(config.language_code) != "en":
            _abort_invalid(context, f"this server recognises English only ({MODEL_NAME}); got language_code "
                                    f"{config.language_code!r}")
        self._context = context
        self._first = True
        self._carry = b""
        self._resampler: Resampler | None = None

    def feed(self, data: bytes, *, final: bool = False) -> np.ndarray:
        """Samples of the next piece of audio; a piece may end inside a sample (the rest comes next)."""
        try:
            if self._first and data:
                self._first = False
                data, header = strip_wav_header(data)
                if header is not None:
                    self.rate, self.channels = header.sample_rate, header.channels
            data, frame = self._carry + data, 2 * self.channels
            whole = len(data) if final else len(data) // frame * frame
            self._carry = data[whole:]
            pcm = pcm_from_bytes(data[:whole], self.channels)
        except AudioFormatError as exc:
            _abort_invalid(self._context, str(exc))
        if self.rate == SPEECH_RATE:
            return pcm
        if self._resampler is None:
            self._resampler = Resampler(self.rate, SPEECH_RATE)
        return self._resampler.push(pcm)


class AsrServicer(rasr_srv.RivaSpeechRecognitionServicer):
    def __init__(self, engines: SpeechEngines) -> None:
        self.engines = engines

    def GetRivaSpeechRecognitionConfig(self, request: rasr.RivaSpeechRecognitionConfigRequest,
                                       context: grpc.ServicerContext) -> rasr.RivaSpeechRecognitionConfigResponse:
        if request.model_name and request.model_name != MODEL_NAME:
            return rasr.RivaSpeechRecognitionConfigResponse()
        config = rasr.RivaSpeechRecognitionConfigResponse.Config(model_name=MODEL_NAME, parameters={
            "language_code": "en-US", "sample_rate": str(SPEECH_RATE), "type": "online,offline",
            "automatic_punctuation": "true", "engine": "faster-whisper tiny.en int8 (CPU)"})
        return rasr.RivaSpeechRecognitionConfigResponse(model_config=[config])

    def Recognize(self, request: rasr.RecognizeRequest, context: grpc.ServicerContext) -> rasr.RecognizeResponse:
        audio = _AudioInput(request.config, context)
        stream = _Stream(VadSegmenter(self.engines.vad))
        utterances = stream.push(audio.feed(request.audio, final=True)) + stream.close()
        results = []
        for utterance in utterances:
            transcript = self._transcribe(utterance, request.config)
            if transcript.text:
                results.append(rasr.SpeechRecognitionResult(alternatives=[_alternative(transcript)], channel_tag=1,
                                                            audio_processed=stream.seconds))
        return rasr.RecognizeResponse(results=results, id=request.id)

    def StreamingRecognize(self, request_iterator: Iterator[rasr.StreamingRecognizeRequest],
                           context: grpc.ServicerContext) -> Iterator[rasr.StreamingRecognizeResponse]:
        requests = iter(request_iterator)
        first = next(requests, None)
        if first is None:
            return
        if not first.HasField("streaming_config"):
            _abort_invalid(context, "the first StreamingRecognizeRequest must carry streaming_config; audio "
                                    "follows in later requests")
        config = first.streaming_config.config
        audio = _AudioInput(config, context)
        stream = _Stream(VadSegmenter(self._vad_settings(config)))
        for request in requests:
            if request.HasField("streaming_config"):
                _abort_invalid(context, "streaming_config may only be sent in the first request")
            for utterance in stream.push(audio.feed(request.audio_content)):
                yield self._final(utterance, stream.seconds, config, first.id)
        for utterance in stream.close():
            yield self._final(utterance, stream.seconds, config, first.id)

    def _vad_settings(self, config: rasr.RecognitionConfig) -> VadSettings:
        endpointing, settings = config.endpointing_config, self.engines.vad
        if endpointing.stop_history > 0:
            settings = replace(settings, end_ms=endpointing.stop_history)
        if endpointing.start_history > 0:
            settings = replace(settings, start_ms=endpointing.start_history)
        return settings

    def _final(self, utterance: np.ndarray, seconds: float, config: rasr.RecognitionConfig,
               request_id: object) -> rasr.StreamingRecognizeResponse:
        transcript = self._transcribe(utterance, config)
        result = rasr.StreamingRecognitionResult(alternatives=[_alternative(transcript)], is_final=True,
                                                 stability=1.0, channel_tag=1, audio_processed=seconds)
        return rasr.StreamingRecognizeResponse(results=[result], id=request_id)

    def _transcribe(self, utterance: np.ndarray, config: rasr.RecognitionConfig) -> Transcript:
        transcript = self.engines.recognizer.transcribe(to_float(utterance))
        if config.enable_automatic_punctuation:
            return transcript
        return Transcript(" ".join(_PUNCTUATION.sub(" ", transcript.text.lower()).split()), transcript.confidence,
                          transcript.no_speech)


class _Stream:
    """One stream's utterances: the VAD cuts them; whatever is open when the client closes is the last."""

    def __init__(self, segmenter: VadSegmenter) -> None:
        self.segmenter = segmenter
        self.samples = 0
        self._open: list[np.ndarray] = []
        self._unsegmented: list[np.ndarray] = []  # everything, until the VAD has found one utterance
        self._found_any = False

    @property
    def seconds(self) -> float:
        return self.samples / SPEECH_RATE

    def push(self, pcm: np.ndarray) -> list[np.ndarray]:
        if not len(pcm):
            return []
        pts = self.seconds
        self.samples += len(pcm)
        if not self._found_any:
            self._unsegmented.append(pcm)
            while sum(map(len, self._unsegmented)) > _MAX_UNSEGMENTED_S * SPEECH_RATE:
                self._unsegmented.pop(0)
        done = []
        for event in self.segmenter.push(pcm, pts):
            if event.kind is VoiceEventKind.END:
                done.append(np.concatenate(self._open))
                self._open = []
                self._found_any, self._unsegmented = True, []
            else:
                self._open.append(event.pcm)
        return done

    def close(self) -> list[np.ndarray]:
        """The open utterance; or, for a stream in which the VAD found none (a single short word, say),
        all of its audio unless it is silent."""
        if self.segmenter.in_segment:
            return [np.concatenate(self._open)]
        if self._found_any or not self._unsegmented:
            return []
        audio = np.concatenate(self._unsegmented)
        return [audio] if np.abs(audio).max(initial=0) > _SILENT_PEAK else []


def _alternative(transcript: Transcript) -> rasr.SpeechRecognitionAlternative:
    return rasr.SpeechRecognitionAlternative(transcript=transcript.text, confidence=transcript.confidence)
