"""The CPU engines behind the embedded server, loaded once and shared by every server in the process."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from mediagrid.speech.apertium import ApertiumTranslator, installed_pairs
from mediagrid.speech.errors import SpeechServiceError
from mediagrid.speech.espeak import EspeakSynthesizer, synthesizer
from mediagrid.speech.vad import VadSettings
from mediagrid.speech.whisper import WhisperRecognizer

_shared: SpeechEngines | None = None
_shared_lock = threading.Lock()


@dataclass
class SpeechEngines:
    recognizer: WhisperRecognizer
    synthesizer: EspeakSynthesizer
    pairs: list[str]  # installed Apertium directions; each translator starts on first use
    # endpointing: Riva's default stop history (800 ms); utterances up to 20 s fit one whisper window
    vad: VadSettings = field(default_factory=lambda: VadSettings(end_ms=800, max_segment_ms=20_000))
    _translators: dict[str, ApertiumTranslator] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, threads: int = 2) -> SpeechEngines:
        pairs = installed_pairs()
        if not pairs:
            raise SpeechServiceError("no Apertium language pair is installed: apt-get install apertium "
                                     "apertium-eng-spa")
        engines = cls(WhisperRecognizer(threads=threads), synthesizer(), pairs)
        engines.translator(pairs[0])  # start one pipeline now: its first sentence would cost ~0.25 s
        return engines

    def translator(self, pair: str) -> ApertiumTranslator:
        with self._lock:
            if pair not in self._translators:
                self._translators[pair] = ApertiumTranslator(pair)
            return self._translators[pair]


def shared_engines() -> SpeechEngines:
    """The process's engines, loaded on first use (~1-3 s: the speech model dominates)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SpeechEngines.load()
        return _shared
