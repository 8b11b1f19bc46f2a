"""SCTE-35 sections: what the encoders write parses back to the same cue; sections that ask nothing of a break give
None; corrupt or unreadable ones are refused with a reason."""
from __future__ import annotations

import pytest
import threefive
from threefive import BandwidthReservation, SpliceNull
from threefive.crc import crc32

from mediagrid.broadcast.scte35 import (
    PTS_MODULUS,
    Cue,
    InvalidCue,
    encode_splice_insert,
    encode_time_signal,
    parse_section,
    restamp,
)

BREAK_STARTS = (0x22, 0x30, 0x32, 0x34, 0x36)
BREAK_ENDS = (0x23, 0x31, 0x33, 0x35, 0x37)


def _with_crc(section: bytearray | bytes) -> bytes:
    """``section`` with its CRC recomputed, so a test damages only what it means to."""
    body = bytes(section[:-4])
    return body + crc32(body).to_bytes(4, "big")


def _threefive_section(command: threefive.commands.SpliceCommand) -> bytes:
    cue = threefive.Cue()
    cue.command = command
    cue.encode()
    return bytes(cue.bytes())


def _reason(data: bytes) -> str:
    with pytest.raises(InvalidCue) as caught:
        parse_section(data)
    return caught.value.reason


def test_out_cue_with_duration_and_auto_return_round_trips():
    section = encode_splice_insert(7, splice_pts=1_000_000, duration_s=30.5)
    cue = parse_section(section)
    assert cue == Cue(kind="out", event_id=7, splice_pts=1_000_000, duration_s=30.5, auto_return=True,
                      command="splice_insert", section=section)
    assert cue.hex == "0x" + section.hex().upper() and cue.hex.startswith("0xFC")


def test_out_cue_without_duration_or_without_auto_return():
    open_ended = parse_section(encode_splice_insert(8, splice_pts=90_000))
    assert (open_ended.kind, open_ended.duration_s, open_ended.auto_return) == ("out", None, False)
    informative = parse_section(encode_splice_insert(9, splice_pts=90_000, duration_s=12.0, auto_return=False))
    assert (informative.duration_s, informative.auto_return) == (12.0, False)


def test_return_cue_and_immediate_splices():
    back = parse_section(encode_splice_insert(7, out=False, splice_pts=4_000_000))
    assert (back.kind, back.event_id, back.splice_pts) == ("in", 7, 4_000_000)
    now_out = parse_section(encode_splice_insert(11, duration_s=15.0))
    assert (now_out.kind, now_out.splice_pts, now_out.duration_s, now_out.auto_return) == ("out", None, 15.0, True)
    now_back = parse_section(encode_splice_insert(11, out=False))
    assert (now_back.kind, now_back.splice_pts) == ("in", None)


def test_splice_event_cancel_indicator_makes_a_cancel():
    cue = parse_section(encode_splice_insert(2**32 - 1, cancel=True))
    assert (cue.kind, cue.event_id, cue.splice_pts, cue.duration_s, cue.command) == (
        "cancel", 2**32 - 1, None, None, "splice_insert")


def test_pts_adjustment_is_added_and_wraps_at_33_bits():
    assert parse_section(encode_splice_insert(1, splice_pts=1_000, pts_adjustment=500)).splice_pts == 1_500
    wrapped = encode_splice_insert(1, splice_pts=PTS_MODULUS - 100, pts_adjustment=300)
    assert parse_section(wrapped).splice_pts == 200
    signal = encode_time_signal(1, 0x22, splice_pts=PTS_MODULUS - 1, pts_adjustment=PTS_MODULUS - 1)
    assert parse_section(signal).splice_pts == PTS_MODULUS - 2


@pytest.mark.parametrize("type_id", BREAK_STARTS)
def test_time_signal_break_starts_are_out_cues(type_id):
    section = encode_time_signal(0xDEADBEEF, type_id, splice_pts=123_456, duration_s=60.0)
    assert parse_section(section) == Cue(kind="out", event_id=0xDEADBEEF, splice_pts=123_456, duration_s=60.0,
                                         auto_return=True, command="time_signal", section=section)
    open_ended = parse_section(encode_time_signal(5, type_id, splice_pts=123_456))
    assert (open_ended.kind, open_ended.duration_s, open_ended.auto_return) == ("out", None, False)


@pytest.mark.parametrize("type_id", BREAK_ENDS)
def test_time_signal_break_ends_are_in_cues(type_id):
    cue = parse_section(encode_time_signal(42, type_id, splice_pts=99))
    assert (cue.kind, cue.event_id, cue.splice_pts, cue.duration_s, cue.auto_return) == ("in", 42, 99, None, False)


def test_time_signal_cancel_and_immediate():
    cancel = parse_section(encode_time_signal(77, 0x34, splice_pts=5_000, cancel=True))
    assert (cancel.kind, cancel.event_id, cancel.command) == ("cancel", 77, "time_signal")
    now = parse_section(encode_time_signal(78, 0x22))
    assert (now.kind, now.splice_pts) == ("out", None)


def test_time_signal_picks_the_break_over_an_advert_inside_it():
    combined = threefive.Cue(encode_time_signal(1, 0x30, splice_pts=10))  # provider ad start, event 1
    combined.descriptors.append(threefive.Cue(encode_time_signal(2, 0x22, splice_pts=10)).descriptors[0])
    combined.encode()
    cue = parse_section(bytes(combined.bytes()))
    assert (cue.kind, cue.event_id) == ("out", 2)


@pytest.mark.parametrize("section", [
    pytest.param(_threefive_section(SpliceNull()), id="splice_null"),
    pytest.param(_threefive_section(BandwidthReservation()), id="bandwidth_reservation"),
    pytest.param(encode_time_signal(3, 0x10, splice_pts=10), id="program_start"),
    pytest.param(encode_time_signal(3, 0x38, splice_pts=10), id="overlay_placement_opportunity"),
])
def test_sections_that_ask_nothing_of_a_break_give_none(section):
    assert parse_section(section) is None


def test_time_signal_without_descriptors_gives_none():
    signal = threefive.TimeSignal()
    signal.time_specified_flag = True
    signal.pts_time = 2.0
    assert parse_section(_threefive_section(signal)) is None


GOOD = encode_splice_insert(7, splice_pts=1_000_000, duration_s=30.0)


def test_bad_crc_is_refused_although_threefive_decodes_it():
    damaged = bytearray(GOOD)
    damaged[-1] ^= 0x01
    assert threefive.Cue(bytes(damaged)).command.splice_event_id == 7  # threefive alone would take it
    assert _reason(bytes(damaged)).startswith("CRC mismatch")
    flipped = bytearray(GOOD)
    flipped[20] ^= 0x10  # a payload bit under an unchanged CRC
    assert _reason(bytes(flipped)).startswith("CRC mismatch")


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "truncated: 0 bytes"),
    (GOOD[:10], "truncated: 10 bytes"),
    (GOOD[:-3], f"section_length says {len(GOOD)} bytes, got {len(GOOD) - 3}"),
    (GOOD + b"\xff\xff", f"section_length says {len(GOOD)} bytes, got {len(GOOD) + 2}"),
    (_with_crc(b"\x02" + GOOD[1:]), "table_id is 0x02, not 0xFC"),
    (_with_crc(GOOD[:3] + b"\x01" + GOOD[4:]), "protocol_version 1"),
    (_with_crc(GOOD[:4] + bytes([GOOD[4] | 0x80 | 2 << 1]) + GOOD[5:]), "encrypted (algorithm 2)"),
    (_with_crc(GOOD[:11] + bytes([GOOD[11] & 0xF0, 0xFF]) + GOOD[13:]), "splice_command_length 255 runs past"),
    (_with_crc(GOOD[:-6] + b"\x00\x09" + GOOD[-4:]), "descriptor_loop_length runs past"),
], ids=["empty", "short", "truncated", "padded", "table_id", "version", "encrypted", "command_length",
        "descriptor_loop"])
def test_corrupt_or_unreadable_sections_are_refused(data, reason):
    assert _reason(data).startswith(reason)


def test_a_command_cut_short_under_consistent_lengths_is_refused():
    cut = bytearray(encode_splice_insert(7, splice_pts=1_000))
    body = cut[:13] + b"\x05" + cut[14:19] + b"\x00\x00"  # splice_insert: event id and cancel byte only
    body[1:3] = (0x3000 | len(body) + 4 - 3).to_bytes(2, "big")
    body[11:13] = bytes([body[11] & 0xF0, 5])
    section = _with_crc(bytes(body) + b"\x00" * 4)
    assert _reason(section).startswith("undecodable command or descriptors")


def test_invalid_cue_is_a_value_error_naming_its_reason():
    error = InvalidCue("CRC mismatch")
    assert isinstance(error, ValueError) and error.reason == "CRC mismatch" and "CRC mismatch" in str(error)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: encode_splice_insert(1, splice_pts=100, duration_s=0), "duration must be positive"),
    (lambda: encode_splice_insert(2**32, splice_pts=100), "does not fit 32 bits"),
    (lambda: encode_splice_insert(1, splice_pts=PTS_MODULUS), "not a 33-bit count"),
    (lambda: encode_time_signal(1, 0x22, splice_pts=-1), "not a 33-bit count"),
])
def test_encoders_refuse_what_threefive_would_write_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_restamp_moves_the_splice_time_by_the_offset_and_keeps_the_rest() -> None:
    original = parse_section(encode_splice_insert(9, splice_pts=2**33 - 900, duration_s=30.0, pts_adjustment=100))
    moved = parse_section(restamp(original.section, 1_000))  # across the 33-bit wrap
    assert moved.splice_pts == (original.splice_pts + 1_000) % 2**33 == 200
    assert (moved.kind, moved.event_id, moved.duration_s, moved.auto_return) == ("out", 9, 30.0, True)
    assert parse_section(restamp(original.section, -1_000)).splice_pts == original.splice_pts - 1_000
