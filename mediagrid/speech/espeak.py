"""Speech synthesis with libespeak-ng in-process (the library and voices ship in the ``espeakng-loader`` wheel).

In-process synthesis makes a sentence in ~5 ms (a subprocess per sentence costs ~15 ms before the first
sample). libespeak-ng keeps global state, so the process has one engine and calls are serialised; SSML input
(``<speak>...``, e.g. ``<prosody rate="150%">``) is passed to espeak-ng's own SSML reader.
"""
from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

from mediagrid.speech.errors import SpeechServiceError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8, _SSML = 0x01, 0x10
_EE_OK = 0
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


@dataclass(frozen=True, slots=True)
class Voice:
    name: str  # "Spanish (Latin America)"
    language: str  # espeak's language name, also the name to select it by: "es-419"


class EspeakSynthesizer:
    """Use :func:`synthesizer` (one per process); thread-safe."""

    def __init__(self) -> None:
        try:
            import espeakng_loader  # noqa: PLC0415
        except ImportError:
            raise SpeechServiceError("espeak-ng is not installed: pip install espeakng-loader") from None
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                           espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise SpeechServiceError(f"libespeak-ng failed to initialise (returned {rate})")
        self.sample_rate = rate
        self._lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # referenced here so that ctypes does not free it
        self._lib.espeak_SetSynthCallback(self._callback)
        self._voice: str | None = None
        self.voices = self._list_voices()

    def _collect(self, wav: ctypes.POINTER(ctypes.c_short), count: int, events: ctypes.c_void_p) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def _list_voices(self) -> tuple[Voice, ...]:
        listed = self._lib.espeak_ListVoices(None)
        voices, i = [], 0
        while listed[i]:
            entry = listed[i].contents
            language = entry.languages[1:].split(b"\0", 1)[0].decode()  # a priority byte, then the name
            voices.append(Voice(entry.name.decode().strip(), language))
            i += 1
        return tuple(voices)

    def synthesize(self, text: str, voice: str) -> np.ndarray:
        """Mono int16 samples at :attr:`sample_rate`; ``text`` may be SSML (starting with ``<speak``)."""
        data = text.encode("utf-8") + b"\0"
        flags = _CHARS_UTF8 | (_SSML if text.lstrip().startswith("<speak") else 0)
        with self._lock:
            if voice != self._voice:
                if self._lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                    raise ValueError(f"espeak-ng has no voice {voice!r}")
                self._voice = voice
            self._chunks = []
            status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, flags, None, None)
            chunks, self._chunks = self._chunks, []
        if status != _EE_OK:
            raise RuntimeError(f"espeak-ng failed to synthesise (status {status})")
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


@cache
def synthesizer() -> EspeakSynthesizer:
    """The process's one espeak-ng engine."""
    return EspeakSynthesizer()
