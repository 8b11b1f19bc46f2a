"""Reads a dubbed program back and measures where its captions and dubs start, against the segments' pts.

Independent of how the program was written: cues come from the MP4's mov_text samples and from the WebVTT
file, dub onsets from the decoded audio. A dub is trimmed to start on its first sample above -40 dBFS and
the original is muted just before it, so the first sample above that level near the segment's start is the
dub's first sample (measured in audio time, so on any machine: within 0.1 ms of it through AAC, while a
-46 dBFS threshold already catches AAC's pre-echo a few ms early; a run's skews are in
perf/results/live_translation.md).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ONSET_LEVEL = 0.01  # -40 dBFS, the level at which dubs are trimmed
# The program mutes one VAD frame (30 ms) before each dubbed segment; what is louder before that belongs to
# the previous segment (a dub running until the lead), so the search starts inside the muted lead.
_SEARCH_BEFORE_S, _SEARCH_AFTER_S = 0.02, 0.3
_VTT_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})\.(\d{3})")


@dataclass(frozen=True, slots=True)
class CueTimes:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True, slots=True)
class SegmentSync:
    start_pts_s: float
    mode: str
    cue_skew_ms: float | None  # MP4 cue start minus the segment's start (None: no cue expected or found)
    vtt_skew_ms: float | None
    dub_skew_ms: float | None  # dub onset minus the segment's start (dubbed segments only)


def read_cues(mp4: Path) -> list[CueTimes]:
    """The non-empty mov_text samples of ``mp4`` (the muxer fills gaps with empty ones)."""
    import av  # noqa: PLC0415

    cues = []
    with av.open(str(mp4)) as container:
        if not container.streams.subtitles:
            return []
        stream = container.streams.subtitles[0]
        for packet in container.demux(stream):
            payload = bytes(packet)
            if packet.pts is None or len(payload) < 2:
                continue
            size = int.from_bytes(payload[:2], "big")
            if size:
                start = float(packet.pts * packet.time_base)
                cues.append(CueTimes(start, start + float(packet.duration * packet.time_base),
                                     payload[2:2 + size].decode("utf-8")))
    return cues


def read_vtt(path: Path) -> list[CueTimes]:
    cues = []
    blocks = Path(path).read_text(encoding="utf-8").split("\n\n")
    for block in blocks:
        lines = block.strip().splitlines()
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue
        start, end = (_vtt_seconds(part) for part in lines[timing].split("-->"))
        cues.append(CueTimes(start, end, "\n".join(lines[timing + 1:])))
    return cues


def _vtt_seconds(text: str) -> float:
    h, m, s, ms = (int(g) for g in _VTT_TIME.search(text).groups())
    return h * 3600 + m * 60 + s + ms / 1000


def read_audio(mp4: Path) -> tuple[np.ndarray, int, float]:
    """(mono float samples, rate, pts of the first sample) of the first audio stream."""
    import av  # noqa: PLC0415

    with av.open(str(mp4)) as container:
        stream = container.streams.audio[0]
        frames = list(container.decode(stream))
    if not frames:
        return np.zeros(0, np.float32), stream.sample_rate, 0.0
    samples = np.concatenate([f.to_ndarray().reshape(f.samples, -1).mean(axis=1) for f in frames])
    return samples.astype(np.float32), frames[0].sample_rate, float(frames[0].pts * frames[0].time_base)


def onset_s(samples: np.ndarray, rate: int, first_pts_s: float, near_s: float) -> float | None:
    """Pts of the first sample above :data:`ONSET_LEVEL` from 20 ms before ``near_s`` to 0.3 s after."""
    lo = max(0, round((near_s - _SEARCH_BEFORE_S - first_pts_s) * rate))
    hi = max(lo, round((near_s + _SEARCH_AFTER_S - first_pts_s) * rate))
    loud = np.flatnonzero(np.abs(samples[lo:hi]) > ONSET_LEVEL)
    return first_pts_s + (lo + loud[0]) / rate if len(loud) else None


def measure_sync(mp4: Path, vtt: Path, segments: Iterable[Mapping[str, Any]]) -> list[SegmentSync]:
    """Sync of every decided segment (events.jsonl records: ``mode``, ``start_pts_s``)."""
    cues, vtt_cues = read_cues(Path(mp4)), read_vtt(Path(vtt))
    samples, rate, first = read_audio(mp4)
    report = []
    for segment in segments:
        start, mode = float(segment["start_pts_s"]), segment["mode"]
        captioned = mode in ("dubbed", "captions_only")
        onset = onset_s(samples, rate, first, start) if mode == "dubbed" else None
        report.append(SegmentSync(start, mode, _skew(cues, start) if captioned else None,
                                  _skew(vtt_cues, start) if captioned else None,
                                  None if onset is None else (onset - start) * 1000))
    return report


def _skew(cues: list[CueTimes], start_s: float) -> float | None:
    nearest = min(cues, key=lambda c: abs(c.start_s - start_s), default=None)
    return None if nearest is None else (nearest.start_s - start_s) * 1000
