"""SCTE-35 splice_info_sections read into the one small :class:`Cue` the rest of mediagrid uses, and written back.

A feed carries many kinds of section; only those that open, end or cancel an ad break become a :class:`Cue`
(splice_insert, and time_signal with a break, advertisement or placement-opportunity segmentation descriptor).
threefive does the bit work, but it never checks the CRC and guesses the input's format from its content, so
:func:`parse_section` checks the framing itself and hands threefive the bytes directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from threefive import Cue as ThreefiveCue
from threefive import SegmentationDescriptor, SpliceInsert, TimeSignal
from threefive.crc import crc32

CueKind = Literal["out", "in", "cancel"]

PTS_MODULUS = 2**33  # PTS and splice times are 33-bit counts of a 90 kHz clock
TICKS_PER_S = 90_000
TABLE_ID = 0xFC
_HEADER_BYTES = 14  # table_id .. splice_command_type
_CRC_BYTES = 4
_LEGACY_COMMAND_LENGTH = 0xFFF  # "unknown": older encoders leave the command's length to the reader

#: segmentation_type_id -> whether it starts (True) or ends (False) a break, best rank first: a time_signal
#: can carry several (a placement opportunity inside a break); the outermost one decides the cue.
_BREAK_SEGMENTS: tuple[dict[int, bool], ...] = (
    {0x22: True, 0x23: False},                                # break start / end
    {0x34: True, 0x35: False, 0x36: True, 0x37: False},      # provider / distributor placement opportunity
    {0x30: True, 0x31: False, 0x32: True, 0x33: False},      # provider / distributor advertisement
)


class InvalidCue(ValueError):
    """A section mediagrid cannot act on: corrupt (CRC, length, table id), encrypted, or in a form it does not
    support. ``reason`` says which, for the log line that drops it."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"SCTE-35 section rejected: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class Cue:
    """One break instruction. ``splice_pts`` is in 90 kHz ticks with pts_adjustment applied, modulo 2**33; None
    means "splice now". ``auto_return``: the break ends by itself after ``duration_s``."""

    kind: CueKind
    event_id: int
    splice_pts: int | None
    duration_s: float | None
    auto_return: bool
    command: Literal["splice_insert", "time_signal"]
    section: bytes = field(repr=False)

    @property
    def hex(self) -> str:
        """The section as HLS wants it in ``SCTE35-OUT=`` / ``SCTE35-IN=`` (a 0x-prefixed upper-case hex
        sequence, RFC 8216 section 4.2)."""
        return "0x" + self.section.hex().upper()


def parse_section(data: bytes) -> Cue | None:
    """The cue in one splice_info_section, or None when it asks nothing of a break (splice_null, bandwidth
    reservation, a time_signal about something else). Raises :class:`InvalidCue` when it cannot be trusted."""
    section = bytes(data)
    _check_framing(section)
    parsed = ThreefiveCue()
    parsed.bites = section  # not Cue(section): that guesses the format (base64, hex, JSON...) from the bytes
    try:
        parsed.decode()
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise InvalidCue(f"undecodable command or descriptors ({type(exc).__name__}: {exc})") from exc
    adjustment = _ticks(parsed.info_section.pts_adjustment)
    if isinstance(parsed.command, SpliceInsert):
        return _from_splice_insert(parsed.command, adjustment, section)
    if isinstance(parsed.command, TimeSignal):
        return _from_time_signal(parsed.command, parsed.descriptors, adjustment, section)
    return None


def _check_framing(section: bytes) -> None:
    """Table id, lengths, CRC, version and encryption: what threefive does not check (it decodes a bad CRC as if
    good, and reads past a short command into the next field)."""
    if len(section) < _HEADER_BYTES + _CRC_BYTES:
        raise InvalidCue(f"truncated: {len(section)} bytes, a section has at least {_HEADER_BYTES + _CRC_BYTES}")
    if section[0] != TABLE_ID:
        raise InvalidCue(f"table_id is 0x{section[0]:02X}, not 0x{TABLE_ID:02X} (splice_info_section)")
    declared = 3 + ((section[1] & 0x0F) << 8 | section[2])
    if declared != len(section):
        raise InvalidCue(f"section_length says {declared} bytes, got {len(section)} (truncated or padded)")
    if crc32(section) != 0:  # CRC-32/MPEG-2 over the whole section, its CRC included, leaves 0
        raise InvalidCue(f"CRC mismatch (CRC field 0x{section[-4:].hex()})")
    if section[3] != 0:
        raise InvalidCue(f"protocol_version {section[3]}; only version 0 is defined")
    if section[4] & 0x80:
        raise InvalidCue(f"encrypted (algorithm {section[4] >> 1 & 0x3F}); mediagrid holds no keys")
    command_length = (section[11] & 0x0F) << 8 | section[12]
    if command_length != _LEGACY_COMMAND_LENGTH:
        loop_at = _HEADER_BYTES + command_length
        if loop_at + 2 > len(section) - _CRC_BYTES:
            raise InvalidCue(f"splice_command_length {command_length} runs past the section's end")
        if loop_at + 2 + (section[loop_at] << 8 | section[loop_at + 1]) > len(section) - _CRC_BYTES:
            raise InvalidCue("descriptor_loop_length runs past the section's end")


def _from_splice_insert(command: SpliceInsert, adjustment: int, section: bytes) -> Cue:
    if command.splice_event_cancel_indicator:
        return Cue("cancel", command.splice_event_id, None, None, False, "splice_insert", section)
    if not command.program_splice_flag:
        raise InvalidCue("component splice mode (program_splice_flag=0) is not supported")
    immediate = command.splice_immediate_flag or not command.time_specified_flag
    return Cue(kind="out" if command.out_of_network_indicator else "in",
               event_id=command.splice_event_id,
               splice_pts=None if immediate else _splice_pts(command.pts_time, adjustment),
               duration_s=command.break_duration if command.duration_flag else None,
               auto_return=bool(command.duration_flag and command.break_auto_return),
               command="splice_insert", section=section)


def _from_time_signal(command: TimeSignal, descriptors: list, adjustment: int, section: bytes) -> Cue | None:
    """A time_signal speaks through its segmentation descriptors; a duration there ends the break by itself
    (time_signal has no auto_return flag, and packagers read segmentation_duration as the break's length)."""
    chosen = _break_descriptor(descriptors)
    if chosen is None:
        return None
    event_id = int(chosen.segmentation_event_id, 16)  # threefive keeps it as a hex string
    splice_pts = _splice_pts(command.pts_time, adjustment) if command.time_specified_flag else None
    if chosen.segmentation_event_cancel_indicator:
        return Cue("cancel", event_id, splice_pts, None, False, "time_signal", section)
    starts = next(family[chosen.segmentation_type_id] for family in _BREAK_SEGMENTS
                  if chosen.segmentation_type_id in family)
    duration = chosen.segmentation_duration if chosen.segmentation_duration_flag else None
    return Cue(kind="out" if starts else "in", event_id=event_id, splice_pts=splice_pts,
               duration_s=duration if starts else None, auto_return=starts and duration is not None,
               command="time_signal", section=section)


def _break_descriptor(descriptors: list) -> SegmentationDescriptor | None:
    """The best-ranked break descriptor (see :data:`_BREAK_SEGMENTS`), else the first cancel, else None."""
    segmentation = [d for d in descriptors if isinstance(d, SegmentationDescriptor) and d.identifier == "CUEI"]
    for family in _BREAK_SEGMENTS:
        for descriptor in segmentation:
            if not descriptor.segmentation_event_cancel_indicator and descriptor.segmentation_type_id in family:
                return descriptor
    return next((d for d in segmentation if d.segmentation_event_cancel_indicator), None)


def _ticks(seconds: float) -> int:
    """threefive's seconds (rounded to 1 us) back to exact 90 kHz ticks."""
    return round(seconds * TICKS_PER_S)


def _splice_pts(pts_time: float, adjustment: int) -> int:
    return (_ticks(pts_time) + adjustment) % PTS_MODULUS


def encode_splice_insert(event_id: int, *, out: bool = True, splice_pts: int | None = None,
                         duration_s: float | None = None, auto_return: bool = True, cancel: bool = False,
                         pts_adjustment: int = 0) -> bytes:
    """A splice_insert section. ``splice_pts`` (ticks) is written as is, None for splice_immediate; a reader adds
    ``pts_adjustment``. ``cancel`` cancels event ``event_id`` and ignores the other arguments."""
    command = SpliceInsert()
    command.splice_event_id = _checked_event_id(event_id)
    command.splice_event_cancel_indicator = cancel
    command.out_of_network_indicator = out
    command.program_splice_flag = True
    command.splice_immediate_flag = splice_pts is None
    command.event_id_compliance_flag = True
    command.time_specified_flag = splice_pts is not None
    command.pts_time = None if splice_pts is None else _seconds(splice_pts)
    command.duration_flag = duration_s is not None
    if duration_s is not None:
        command.break_auto_return = auto_return
        command.break_duration = _checked_duration(duration_s)
    command.unique_program_id = 1
    command.avail_num = 0
    command.avails_expected = 0
    return _encode(command, [], pts_adjustment)


def encode_time_signal(event_id: int, segmentation_type_id: int, *, splice_pts: int | None = None,
                       duration_s: float | None = None, cancel: bool = False, pts_adjustment: int = 0) -> bytes:
    """A time_signal section with one segmentation descriptor (no UPID). ``splice_pts`` as for
    :func:`encode_splice_insert`; ``cancel`` cancels segmentation event ``event_id``."""
    command = TimeSignal()
    command.time_specified_flag = splice_pts is not None
    command.pts_time = None if splice_pts is None else _seconds(splice_pts)
    descriptor = SegmentationDescriptor()
    descriptor.segmentation_event_id = hex(_checked_event_id(event_id))
    descriptor.segmentation_event_cancel_indicator = cancel
    descriptor.segmentation_event_id_compliance_indicator = True
    descriptor.program_segmentation_flag = True
    descriptor.segmentation_duration_flag = duration_s is not None
    descriptor.segmentation_duration = None if duration_s is None else _checked_duration(duration_s)
    descriptor.delivery_not_restricted_flag = True
    descriptor.segmentation_upid_type = 0
    descriptor.segmentation_upid_length = 0
    descriptor.segmentation_upid = ""
    descriptor.segmentation_type_id = segmentation_type_id
    descriptor.segment_num = 0
    descriptor.segments_expected = 0
    return _encode(command, [descriptor], pts_adjustment)


def restamp(section: bytes, offset_ticks: int) -> bytes:
    """The same section for a stream whose clock is ``offset_ticks`` ahead of the one it came in: only
    pts_adjustment changes (the field exists for splicers that re-time a stream), the CRC is recomputed."""
    parsed = ThreefiveCue()
    parsed.bites = bytes(section)
    parsed.decode()
    adjusted = (_ticks(parsed.info_section.pts_adjustment) + offset_ticks) % PTS_MODULUS
    parsed.info_section.pts_adjustment = _seconds(adjusted)
    parsed.encode()
    return bytes(parsed.bytes())


def _encode(command: SpliceInsert | TimeSignal, descriptors: list, pts_adjustment: int) -> bytes:
    cue = ThreefiveCue()
    cue.command = command
    cue.descriptors = descriptors
    cue.info_section.pts_adjustment = _seconds(pts_adjustment)
    cue.encode()
    return bytes(cue.bytes())


def _seconds(ticks: int) -> float:
    """Ticks as threefive's seconds; rejects what would not fit the 33-bit field."""
    if not 0 <= ticks < PTS_MODULUS:
        raise ValueError(f"SCTE-35 time {ticks} is not a 33-bit count of 90 kHz ticks")
    return ticks / TICKS_PER_S


def _checked_event_id(event_id: int) -> int:
    if not 0 <= event_id < 2**32:
        raise ValueError(f"SCTE-35 event id {event_id} does not fit 32 bits")
    return event_id


def _checked_duration(duration_s: float) -> float:
    """threefive writes a short, corrupt section for a zero break_duration instead of refusing it."""
    if not duration_s > 0:
        raise ValueError(f"SCTE-35 duration must be positive, got {duration_s} s")
    return duration_s
