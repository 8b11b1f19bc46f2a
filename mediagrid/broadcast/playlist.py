"""HLS playlists for the live outputs (RFC 8216bis): a sliding-window media playlist per rendition, and the master
playlist that lists the renditions.

Both are rewritten whole and replaced atomically, because players poll them while we write. Ad breaks are signalled
twice, since players read different things: the SCTE-35 markers EXT-X-CUE-OUT / CUE-OUT-CONT / CUE-IN (ad
insertion servers and older players) and EXT-X-DATERANGE carrying the cue sections (what the RFC defines).
"""
from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from mediagrid.broadcast.files import write_atomically
from mediagrid.errors import MediagridError

_VERSION = 3  # decimal EXTINF durations need version 3; nothing written here needs more
# Instants closer than this count as equal: the output has millisecond precision, and a segment cut exactly at a
# splice frame must get the cue even when float durations put its predecessor's end a microsecond past it.
_SAME_INSTANT = timedelta(microseconds=500)
_HEX = re.compile(r"0x[0-9A-Fa-f]+")  # an attribute hexadecimal-sequence (RFC 8216bis 4.2)


class AdBreakError(MediagridError):
    """A break call contradicts the breaks already signalled (an in-cue for a break that never started here, a
    break starting inside another). The playlist is left as it was, so the segmenter can log it and go on."""


@dataclass(frozen=True)
class Segment:
    """A finished media segment, as the playlist lists it; its file must be complete before it is added."""

    uri: str  # path relative to the playlist's directory, where the file is deleted once it expires
    duration_s: float
    program_date_time: datetime  # wall-clock instant of its first frame; timezone-aware
    discontinuity: bool = False  # its timestamps, timing or encoding do not continue the previous segment's

    def __post_init__(self) -> None:
        if not self.duration_s > 0:
            raise ValueError(f"segment {self.uri!r}: duration_s must be positive, not {self.duration_s}")
        _check_aware(self.program_date_time, f"segment {self.uri!r}: program_date_time")
        if "://" in self.uri or self.uri.startswith("/"):
            raise ValueError(f"segment {self.uri!r}: the URI must be a path relative to the playlist's directory")

    @property
    def end(self) -> datetime:
        return self.program_date_time + timedelta(seconds=self.duration_s)


@dataclass
class _Break:
    """An ad break and where its markers landed; attributes once written never change (RFC 8216bis 4.4.5.1)."""

    id: str
    start: datetime
    planned_duration_s: float | None
    scte35_out: str | None
    end: datetime | None = None
    scte35_in: str | None = None
    out_sequence: int | None = None  # media sequence number of the segment carrying its CUE-OUT
    in_sequence: int | None = None  # ... and of the one carrying its CUE-IN

    @property
    def duration_s(self) -> float | None:
        """The actual duration once the return is known, else the planned one."""
        if self.end is not None:
            return (self.end - self.start).total_seconds()
        return self.planned_duration_s

    def daterange(self) -> str:
        attributes = [f"ID={_quoted(self.id, 'break ID')}", f'START-DATE="{_instant(self.start)}"']
        if self.planned_duration_s is not None:
            attributes.append(f"PLANNED-DURATION={_decimal(self.planned_duration_s)}")
        if self.scte35_out is not None:
            attributes.append(f"SCTE35-OUT={self.scte35_out}")
        if self.end is not None:
            attributes.append(f"DURATION={_decimal(self.duration_s)}")
        if self.scte35_in is not None:
            attributes.append(f"SCTE35-IN={self.scte35_in}")
        return "#EXT-X-DATERANGE:" + ",".join(attributes)


@dataclass(frozen=True)
class _Listed:
    sequence: int
    segment: Segment
    cue_tags: tuple[str, ...]  # fixed when added: a player that has read them must never see them change


class MediaPlaylist:
    """A live media playlist of the last ``window`` segments, rewritten as each one is added.

    A segment that leaves the window is deleted from disk only ``keep_after_window`` segments later, since a
    player that has just read an older playlist may still fetch it. Keep ``window`` long enough to hold three
    target durations (RFC 8216bis 6.2.2).

    Ad breaks are announced with :meth:`break_started` and :meth:`break_ended` as the segmenter sees the cues, in
    any order relative to :meth:`add`: the instants may lie ahead or inside the segment being built. The CUE-OUT
    goes on the first segment added that ends after the start instant, the CUE-IN on the first later segment that
    ends after the return; a call that comes too late for the segment containing its instant marks the next one
    added. The DATERANGE keeps the exact instants, and stays while any segment from CUE-OUT to CUE-IN is listed.
    """

    def __init__(self, directory: Path, name: str = "index.m3u8", *, window: int = 6,
                 keep_after_window: int = 2) -> None:
        if window < 1 or keep_after_window < 0:
            raise ValueError(f"playlist {name!r}: window must be at least 1 and keep_after_window at least 0, "
                             f"not {window} and {keep_after_window}")
        self.directory = Path(directory)
        self.path = self.directory / name
        self.window, self.keep_after_window = window, keep_after_window
        self.directory.mkdir(parents=True, exist_ok=True)
        self._listed: deque[_Listed] = deque()
        self._expired: deque[Segment] = deque()  # out of the window, files not yet deleted; oldest first
        self._breaks: list[_Break] = []  # in start order; dropped once their CUE-IN segment leaves the window
        self._next_sequence = 0
        self._discontinuity_sequence = 0
        self._target_duration = 1
        self._closed = False

    def add(self, segment: Segment) -> None:
        """List a finished segment, rewrite the playlist, and delete the files of segments long out of it."""
        if self._closed:
            raise ValueError(f"{self.path}: closed; segment {segment.uri!r} cannot be added")
        self._listed.append(_Listed(self._next_sequence, segment, self._cue_tags(segment, self._next_sequence)))
        self._next_sequence += 1
        # the longest duration as written: float noise in 2.0000001 s must not raise the target to 3
        self._target_duration = max(self._target_duration, math.ceil(round(segment.duration_s, 3)))
        while len(self._listed) > self.window:
            gone = self._listed.popleft().segment
            self._discontinuity_sequence += gone.discontinuity
            self._expired.append(gone)
        first = self._listed[0].sequence
        self._breaks = [b for b in self._breaks if b.in_sequence is None or b.in_sequence >= first]
        write_atomically(self.path, self._render(ended=False))
        while len(self._expired) > self.keep_after_window:
            (self.directory / self._expired.popleft().uri).unlink(missing_ok=True)

    def break_started(self, break_id: str, instant: datetime, *, planned_duration_s: float | None = None,
                      scte35_hex: str | None = None) -> None:
        """An ad break begins at ``instant`` (the splice time); ``scte35_hex`` is the cue's splice_info_section as
        a 0x-prefixed hexadecimal sequence (``Cue.hex``).

        A repeat of a known ID is ignored: SCTE-35 sends each cue several times before its splice. IDs must be
        unique over the stream (for example the splice event ID with the splice time).
        """
        _quoted(break_id, "break ID")
        _check_aware(instant, f"break {break_id!r}: instant")
        _check_hex(scte35_hex, f"break {break_id!r}: scte35_hex")
        if any(b.id == break_id for b in self._breaks):
            return
        if planned_duration_s is not None and not planned_duration_s > 0:
            raise ValueError(f"break {break_id!r}: planned_duration_s must be positive, not {planned_duration_s}")
        if self._breaks:
            last = self._breaks[-1]
            if last.end is None:
                raise AdBreakError(f"{self.path}: break {break_id!r} starts at {_instant(instant)} while break "
                                   f"{last.id!r} is still open")
            if instant < last.end:
                raise AdBreakError(f"{self.path}: break {break_id!r} starts at {_instant(instant)}, before break "
                                   f"{last.id!r} ends at {_instant(last.end)}")
        self._breaks.append(_Break(break_id, instant, planned_duration_s, scte35_hex))

    def break_ended(self, break_id: str, instant: datetime, *, scte35_hex: str | None = None) -> None:
        """The break returns to the program at ``instant``; ``scte35_hex`` is the in-cue's section when there is
        one (a break that ends by auto-return or by a time limit has none).

        Its DATERANGE gains DURATION and SCTE35-IN at the next rewrite. A repeat is ignored.
        """
        _check_aware(instant, f"break {break_id!r}: instant")
        _check_hex(scte35_hex, f"break {break_id!r}: scte35_hex")
        found = next((b for b in self._breaks if b.id == break_id), None)
        if found is None:
            raise AdBreakError(f"{self.path}: break {break_id!r} ends at {_instant(instant)} but never started here "
                               "(an in-cue without its out-cue, as after joining mid-break)")
        if found.end is not None:
            return
        if instant <= found.start:
            raise AdBreakError(f"{self.path}: break {break_id!r} ends at {_instant(instant)}, not after its start "
                               f"at {_instant(found.start)}")
        found.end, found.scte35_in = instant, scte35_hex

    def close(self, ended: bool = True) -> None:
        """Stop. ``ended``: the stream is over, and EXT-X-ENDLIST tells players to stop polling; otherwise the last
        playlist stays as written. Segment files are left on disk either way. A second call does nothing."""
        if not self._closed and ended:
            write_atomically(self.path, self._render(ended=True))
        self._closed = True

    def _cue_tags(self, segment: Segment, sequence: int) -> tuple[str, ...]:
        """The ad markers of a segment about to be listed, advancing the breaks they belong to."""
        cutoff = segment.end - _SAME_INSTANT
        tags: list[str] = []
        for brk in (b for b in self._breaks if b.in_sequence is None):
            duration_s = brk.duration_s
            if brk.out_sequence is None:
                if brk.start < cutoff:
                    brk.out_sequence = sequence
                    tags.append("#EXT-X-CUE-OUT" + ("" if duration_s is None else f":DURATION={_decimal(duration_s)}"))
            elif brk.end is not None and brk.end < cutoff:
                brk.in_sequence = sequence
                tags.append("#EXT-X-CUE-IN")
                continue  # the next break may start in this same segment
            else:
                # a discontinuity may set the clock back: a negative elapsed time means nothing to a player
                elapsed_s = max(0.0, (segment.program_date_time - brk.start).total_seconds())
                tags.append(f"#EXT-X-CUE-OUT-CONT:ElapsedTime={_decimal(elapsed_s)}"
                            + ("" if duration_s is None else f",Duration={_decimal(duration_s)}"))
            break
        return tuple(tags)

    def _render(self, ended: bool) -> str:
        first = self._listed[0].sequence if self._listed else self._next_sequence
        lines = ["#EXTM3U", f"#EXT-X-VERSION:{_VERSION}", f"#EXT-X-TARGETDURATION:{self._target_duration}",
                 f"#EXT-X-MEDIA-SEQUENCE:{first}", f"#EXT-X-DISCONTINUITY-SEQUENCE:{self._discontinuity_sequence}",
                 "#EXT-X-INDEPENDENT-SEGMENTS"]
        for listed in self._listed:
            segment = listed.segment
            if segment.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_instant(segment.program_date_time)}")
            # a DATERANGE goes with its CUE-OUT segment, or leads the window once that segment has left it
            lines += [b.daterange() for b in self._breaks
                      if b.out_sequence is not None and max(b.out_sequence, first) == listed.sequence]
            lines += listed.cue_tags
            lines += [f"#EXTINF:{_decimal(segment.duration_s)},", segment.uri]
        if ended:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Variant:
    """A video variant stream: one media playlist at one bit rate, with the rendition groups it plays with."""

    uri: str
    bandwidth: int  # peak bits per second of everything a player fetches for it
    codecs: str  # RFC 6381 list, for example "avc1.640028,mp4a.40.2"
    resolution: tuple[int, int]  # width, height
    frame_rate: float
    audio: str | None = None  # GROUP-ID of its audio renditions
    subtitles: str | None = None  # GROUP-ID of its subtitle renditions


@dataclass(frozen=True)
class Rendition:
    """An alternative audio or subtitle track (EXT-X-MEDIA), for example a live dub and its captions."""

    kind: Literal["AUDIO", "SUBTITLES"]
    group_id: str
    name: str
    uri: str
    language: str | None = None  # RFC 5646 tag, for example "es"
    default: bool = False
    autoselect: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("AUDIO", "SUBTITLES"):
            raise ValueError(f"rendition {self.name!r}: kind must be AUDIO or SUBTITLES, not {self.kind!r}")
        if self.default and not self.autoselect:
            raise ValueError(f"rendition {self.name!r}: a DEFAULT rendition must also be AUTOSELECT (RFC 8216bis)")


@dataclass(frozen=True)
class MasterPlaylist:
    """The master playlist: what a player opens first, to choose a variant and its audio and subtitles."""

    variants: Sequence[Variant]
    renditions: Sequence[Rendition] = ()

    def __post_init__(self) -> None:
        if not self.variants:
            raise ValueError("master playlist: at least one variant is needed")
        groups: dict[tuple[str, str], list[Rendition]] = {}
        for rendition in self.renditions:
            groups.setdefault((rendition.kind, rendition.group_id), []).append(rendition)
        for (kind, group_id), members in groups.items():
            if sum(r.default for r in members) > 1 or len({r.name for r in members}) < len(members):
                raise ValueError(f"master playlist: {kind} group {group_id!r} needs unique names and at most one "
                                 "DEFAULT rendition")
        for variant in self.variants:
            for kind, group_id in (("AUDIO", variant.audio), ("SUBTITLES", variant.subtitles)):
                if group_id is not None and (kind, group_id) not in groups:
                    raise ValueError(f"master playlist: variant {variant.uri!r} names {kind} group {group_id!r}, "
                                     "which has no rendition")

    def text(self) -> str:
        lines = ["#EXTM3U", f"#EXT-X-VERSION:{_VERSION}"]
        for r in self.renditions:
            attributes = [f"TYPE={r.kind}", f"GROUP-ID={_quoted(r.group_id, 'GROUP-ID')}",
                          f"NAME={_quoted(r.name, 'NAME')}"]
            if r.language is not None:
                attributes.append(f"LANGUAGE={_quoted(r.language, 'LANGUAGE')}")
            attributes += [f"DEFAULT={_yes_no(r.default)}", f"AUTOSELECT={_yes_no(r.autoselect)}",
                           f"URI={_quoted(r.uri, 'URI')}"]
            lines.append("#EXT-X-MEDIA:" + ",".join(attributes))
        for v in self.variants:
            width, height = v.resolution
            attributes = [f"BANDWIDTH={v.bandwidth}", f"RESOLUTION={width}x{height}",
                          f"CODECS={_quoted(v.codecs, 'CODECS')}", f"FRAME-RATE={_decimal(v.frame_rate)}"]
            if v.audio is not None:
                attributes.append(f"AUDIO={_quoted(v.audio, 'AUDIO')}")
            if v.subtitles is not None:
                attributes.append(f"SUBTITLES={_quoted(v.subtitles, 'SUBTITLES')}")
            lines += ["#EXT-X-STREAM-INF:" + ",".join(attributes), v.uri]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        write_atomically(path, self.text())


def _check_aware(instant: datetime, what: str) -> None:
    if instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, not {instant.isoformat()}")


def _instant(instant: datetime) -> str:
    """UTC to the millisecond, rounded (``isoformat`` alone would truncate)."""
    utc = instant.astimezone(UTC)
    rounded = utc.replace(microsecond=0) + timedelta(milliseconds=round(utc.microsecond / 1000))
    return rounded.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _decimal(value: float) -> str:
    """Durations to the millisecond, and frame rates such as 29.970."""
    return f"{value:.3f}"


def _check_hex(value: str | None, what: str) -> None:
    if value is not None and not _HEX.fullmatch(value):
        raise ValueError(f"{what} must be a 0x-prefixed hexadecimal sequence, not {value!r}")


def _yes_no(flag: bool) -> str:
    return "YES" if flag else "NO"


def _quoted(value: str, what: str) -> str:
    """An attribute quoted-string, which can hold neither a double quote nor a line break (RFC 8216bis 4.2)."""
    if not value or any(c in value for c in '"\r\n'):
        raise ValueError(f"{what} {value!r} must be non-empty, without double quotes or line breaks")
    return f'"{value}"'
