"""WebVTT segments for the subtitle renditions of a live HLS stream.

Each segment's X-TIMESTAMP-MAP ties its cue times to the MPEG-TS clock, so players line captions up with the
video's PTS rather than with where the segment sits in its playlist (RFC 8216bis 3.1.4).
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mediagrid.broadcast.files import write_atomically

_MPEGTS_HZ = 90_000
_PTS_WRAP = 1 << 33  # MPEG-TS timestamps have 33 bits


def write_vtt_segment(path: Path, cues: Iterable[tuple[float, float, str]], *, mpegts_offset_s: float = 0) -> None:
    """Write one subtitle segment of ``(start_s, end_s, text)`` cues; a segment without cues is still valid.

    Cue times are seconds on the program timeline, whose zero the TS segments carry as PTS ``mpegts_offset_s``
    (the muxer's initial offset). A cue that spans several segments must be given to each of them, as players
    show only the cues of the segments they fetched.
    """
    if mpegts_offset_s < 0:
        raise ValueError(f"{path}: mpegts_offset_s must not be negative, not {mpegts_offset_s}")
    ticks = round(mpegts_offset_s * _MPEGTS_HZ) % _PTS_WRAP
    blocks = [f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{ticks},LOCAL:00:00:00.000\n"]
    for start_s, end_s, text in sorted(cues):  # WebVTT wants cues in start order
        start_ms, end_ms = round(start_s * 1000), round(end_s * 1000)
        if not 0 <= start_ms < end_ms:
            raise ValueError(f"{path}: cue {text!r} runs from {start_s} s to {end_s} s; it must start at 0 s or "
                             "later and end at least a millisecond after it starts")
        blocks.append(f"{_timestamp(start_ms)} --> {_timestamp(end_ms)}\n{_payload(text)}\n")
    write_atomically(path, "\n".join(blocks))


def _timestamp(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _payload(text: str) -> str:
    """Cue text as WebVTT reads it literally: markup characters escaped, and no blank line, which would end the
    cue and turn the rest of the text into a broken block."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "\n".join(line for line in escaped.splitlines() if line.strip())
