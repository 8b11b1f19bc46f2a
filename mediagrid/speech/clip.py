"""Spoken test clips: espeak-ng reads known English sentences into an MP4 (AAC audio, H.264 video).

Tests, the perf script and the demo make their media with this at run time, so no media file is stored
and the reference text and the true speech times of every sentence are known exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from mediagrid.speech.audio import resample, trim_leading_silence
from mediagrid.speech.espeak import synthesizer

DEFAULT_SENTENCES = (
    "Good morning and welcome to the evening news.",
    "The weather will be sunny and warm tomorrow.",
    "The children are playing in the garden.",
    "Thank you very much for watching this program.",
)
_NOISE_PEAK = 24  # about -62 dBFS of background hiss, so that the pauses are not digital silence


@dataclass(frozen=True, slots=True)
class SpokenLine:
    text: str
    start_s: float  # first audible sample
    end_s: float  # last audible sample


def write_speech_clip(path: Path, sentences: tuple[str, ...] | list[str] = DEFAULT_SENTENCES, *, gap_s: float = 0.8,
                      lead_s: float = 0.6, tail_s: float = 0.8, fps: int = 25, width: int = 320,
                      height: int = 240, audio_rate: int = 48_000, voice: str = "en-us",
                      seed: int = 0) -> list[SpokenLine]:
    """Write the clip; returns where each sentence is spoken."""
    import av  # noqa: PLC0415

    engine = synthesizer()
    cursor, parts, lines = round(lead_s * audio_rate), [], []
    for text in sentences:
        speech = resample(trim_leading_silence(engine.synthesize(text, voice)), engine.sample_rate, audio_rate)
        speech = np.flip(trim_leading_silence(np.flip(speech)))
        parts.append((cursor, speech))
        lines.append(SpokenLine(text, cursor / audio_rate, (cursor + len(speech)) / audio_rate))
        cursor += len(speech) + round(gap_s * audio_rate)
    total = cursor - round(gap_s * audio_rate) + round(tail_s * audio_rate)
    audio = np.random.default_rng(seed).integers(-_NOISE_PEAK, _NOISE_PEAK + 1, total).astype(np.int16)
    for at, speech in parts:
        audio[at:at + len(speech)] = speech
    _mux(av, path, audio, audio_rate, fps, width, height, lines)
    return lines


def _mux(av: object, path: Path, audio: np.ndarray, rate: int, fps: int, width: int, height: int,
         lines: list[SpokenLine]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=Fraction(fps))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "g": str(fps)}
        sound = container.add_stream("aac", rate=rate, layout="mono")
        for i in range(int(len(audio) / rate * fps)):
            frame = av.VideoFrame.from_ndarray(_picture(i / fps, width, height, lines), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        step = rate // 10
        for at in range(0, len(audio), step):
            frame = av.AudioFrame.from_ndarray(audio[None, at:at + step], format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, at, Fraction(1, rate)
            container.mux(sound.encode(frame))
        container.mux(video.encode(None))
        container.mux(sound.encode(None))


def _picture(t: float, width: int, height: int, lines: list[SpokenLine]) -> np.ndarray:
    """Grey while nobody speaks, a colour per sentence while one is spoken, and a bar sweeping across."""
    speaking = next((i for i, line in enumerate(lines) if line.start_s <= t < line.end_s), None)
    colour = (90, 90, 90) if speaking is None else ((60 + 70 * speaking) % 256, 120, (200 - 50 * speaking) % 256)
    picture = np.empty((height, width, 3), np.uint8)
    picture[...] = colour
    x = int(t * width / 2) % width
    picture[:, x:x + 8] = 255
    return picture
