"""PCM helpers shared by the engines, the server and the operators.

Mono 16-bit little-endian PCM (Riva's LINEAR_PCM) is the one sample format that crosses module boundaries.
Rate changes go through libswresample (PyAV), whose filtering a plain interpolation would not match: the
recogniser is sensitive to aliasing, and a dub resampled badly sounds it.
"""
from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

import numpy as np

from mediagrid.speech.errors import AudioFormatError

#: Sample rate of everything the VAD and the recogniser see.
SPEECH_RATE = 16_000
_INT16_SCALE = 32768.0


def to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 samples as float32 in [-1, 1), the recogniser's input."""
    return pcm.astype(np.float32) / _INT16_SCALE


def pcm_from_bytes(data: bytes, channels: int = 1) -> np.ndarray:
    """LINEAR_PCM bytes as mono int16 samples (channels are averaged)."""
    if len(data) % (2 * channels):
        raise AudioFormatError(f"LINEAR_PCM audio must be whole 16-bit frames of {channels} channel(s); "
                               f"got {len(data)} bytes")
    samples = np.frombuffer(data, dtype="<i2")
    if channels == 1:
        return samples.astype(np.int16, copy=False)
    return samples.reshape(-1, channels).mean(axis=1).round().astype(np.int16)


class Resampler:
    """Changes the rate of a mono int16 stream piece by piece, keeping the filter state between pieces."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        import av  # noqa: PLC0415 - PyAV is heavy; only rate changes need it

        self.from_rate, self.to_rate = from_rate, to_rate
        self._av = av
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=to_rate)

    def push(self, pcm: np.ndarray) -> np.ndarray:
        """The output samples that ``pcm`` completes (the filter holds a few back until :meth:`flush`)."""
        if self.from_rate == self.to_rate:
            return pcm
        if not len(pcm):
            return pcm[:0]
        frame = self._av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm, dtype=np.int16)[None, :],
                                                 format="s16", layout="mono")
        frame.sample_rate = self.from_rate
        return self._join(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        if self.from_rate == self.to_rate:
            return np.zeros(0, np.int16)
        return self._join(self._resampler.resample(None))

    @staticmethod
    def _join(frames: list) -> np.ndarray:
        if not frames:
            return np.zeros(0, np.int16)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16, copy=False)


def resample(pcm: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """A whole mono int16 clip at another rate."""
    if from_rate == to_rate:
        return pcm
    resampler = Resampler(from_rate, to_rate)
    return np.concatenate([resampler.push(pcm), resampler.flush()])


@dataclass(frozen=True, slots=True)
class WavFormat:
    sample_rate: int
    channels: int
    bits: int


def strip_wav_header(data: bytes) -> tuple[bytes, WavFormat | None]:
    """The sample bytes of ``data`` and its format when it is a RIFF/WAVE file, else ``(data, None)``.

    Riva's own file helpers (``AudioChunkFileIterator``, the offline examples) send whole .wav files,
    header included, as "LINEAR_PCM"; real Riva reads the header, so the embedded server must too, or the
    44 header bytes would be played as samples.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return data, None
    offset, fmt = 12, None
    while offset + 8 <= len(data):
        chunk_id, size = data[offset:offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        body = offset + 8
        if chunk_id == b"fmt ":
            if size < 16:
                raise AudioFormatError("WAV header: the fmt chunk is too short")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            if tag not in (1, 0xFFFE) or bits != 16:
                raise AudioFormatError(f"WAV audio must be 16-bit PCM; this file has format tag {tag}, "
                                       f"{bits} bits per sample")
            fmt = WavFormat(rate, channels, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioFormatError("WAV header: the data chunk comes before the fmt chunk")
            return data[body:body + size], fmt
        offset = body + size + (size & 1)
    if fmt is None:
        raise AudioFormatError("WAV header: no fmt chunk")
    return b"", fmt  # a header sent on its own (streaming clients do this); the samples follow


def trim_leading_silence(pcm: np.ndarray, threshold: int = 328) -> np.ndarray:
    """``pcm`` from its first sample louder than ``threshold`` (default -40 dBFS): a synthesiser's lead-in
    silence would otherwise start a dub audibly later than the pts it is placed at."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > threshold)
    return pcm[loud[0]:] if len(loud) else pcm[:0]


class SampleFifo:
    """Mono int16 samples in arrival order; taking from the front costs what is taken, not what is held."""

    def __init__(self) -> None:
        self._parts: deque[np.ndarray] = deque()
        self.size = 0

    def put(self, pcm: np.ndarray) -> None:
        if len(pcm):
            self._parts.append(pcm)
            self.size += len(pcm)

    def take(self, count: int) -> np.ndarray:
        """The first ``count`` samples (fewer if fewer are held)."""
        count, out, need = min(count, self.size), [], min(count, self.size)
        while need:
            part = self._parts[0]
            if len(part) <= need:
                out.append(self._parts.popleft())
                need -= len(part)
            else:
                out.append(part[:need])
                self._parts[0] = part[need:]
                need = 0
        self.size -= count
        return np.concatenate(out) if out else np.zeros(0, np.int16)
