"""The break book: every way a cue can be taken, splice times across the 33-bit wrap, and breaks that never get
their return cue."""
from __future__ import annotations

import pytest

from mediagrid.broadcast.breaks import BreakBook, CueCounts, unwrap_pts
from mediagrid.broadcast.scte35 import PTS_MODULUS, Cue

S = 90_000  # ticks per second
T0 = 10 * S  # "now" in most tests


def out(event_id: int, at: int | None, duration_s: float | None = None, *, auto_return: bool = True) -> Cue:
    return Cue("out", event_id, None if at is None else at % PTS_MODULUS, duration_s,
               auto_return and duration_s is not None, "splice_insert", b"out")


def back(event_id: int, at: int | None) -> Cue:
    return Cue("in", event_id, None if at is None else at % PTS_MODULUS, None, False, "splice_insert", b"in")


def cancel(event_id: int) -> Cue:
    return Cue("cancel", event_id, None, None, False, "splice_insert", b"cancel")


def test_a_future_break_with_duration_opens_and_ends_by_itself():
    book = BreakBook(max_break_s=120)
    cue = out(7, T0 + 2 * S, 30.0)
    assert book.on_cue(cue, T0) == "opened"
    (brk,) = book.breaks
    assert (brk.break_id, brk.start_pts, brk.end_pts, brk.planned_duration_s, brk.auto_return, brk.out_cue,
            brk.in_cue) == ("scte35-7", T0 + 2 * S, T0 + 32 * S, 30.0, True, cue, None)
    assert book.active(T0 + 2 * S - 1) is None
    assert book.active(T0 + 2 * S) is brk and book.active(T0 + 32 * S - 1) is brk
    assert book.active(T0 + 32 * S) is None
    assert book.version == 1 and book.counts == CueCounts(opened=1)


def test_a_break_without_auto_return_stays_open_despite_its_duration():
    book = BreakBook(max_break_s=120)
    assert book.on_cue(out(7, T0 + S, 30.0, auto_return=False), T0) == "opened"
    assert book.breaks[0].end_pts is None and book.breaks[0].planned_duration_s == 30.0
    assert book.active(T0 + 100 * S) is book.breaks[0]


def test_an_immediate_break_starts_now():
    book = BreakBook(max_break_s=120)
    assert book.on_cue(out(3, None, 15.0), T0) == "immediate"
    assert (book.breaks[0].start_pts, book.breaks[0].end_pts) == (T0, T0 + 15 * S)
    assert book.counts.immediate == 1


def test_a_late_cue_starts_now_and_keeps_its_planned_end():
    book = BreakBook(max_break_s=120)
    assert book.on_cue(out(4, T0 - 5 * S, 30.0), T0) == "late"
    assert (book.breaks[0].start_pts, book.breaks[0].end_pts) == (T0, T0 + 25 * S)
    assert book.on_cue(out(5, T0 - 60 * S), T0) == "late"  # no duration: still within max_break_s
    assert (book.breaks[1].start_pts, book.breaks[1].end_pts) == (T0, None)
    assert book.counts.late == 2 and book.version == 2


def test_a_break_already_over_is_stale():
    book = BreakBook(max_break_s=120)
    assert book.on_cue(out(4, T0 - 40 * S, 30.0), T0) == "stale"
    assert book.on_cue(out(5, T0 - 120 * S), T0) == "stale"  # no duration, older than max_break_s
    assert book.breaks == () and book.version == 0 and book.counts.stale == 2


def test_repeated_out_cues_are_ignored_and_a_reused_event_id_opens_a_new_break():
    book = BreakBook(max_break_s=120)
    first = out(9, T0 + 4 * S, 10.0)
    book.on_cue(first, T0)
    assert book.on_cue(first, T0 + S) == "repeated"
    assert book.on_cue(out(9, T0 + 5 * S, 10.0), T0 + 6 * S) == "repeated"  # a different time, break not over
    assert book.on_cue(first, T0 + 20 * S) == "repeated"  # the same cue once the break is over
    assert (len(book.breaks), book.version, book.counts.repeated) == (1, 1, 3)
    assert book.on_cue(out(9, T0 + 60 * S, 10.0), T0 + 50 * S) == "opened"
    assert [b.start_pts for b in book.breaks] == [T0 + 60 * S]


def test_a_return_closes_the_break_at_its_splice_time_or_now():
    book = BreakBook(max_break_s=120)
    book.on_cue(out(1, T0 + S), T0)
    ret = back(1, T0 + 20 * S)
    assert book.on_cue(ret, T0 + 5 * S) == "closed"
    assert (book.breaks[0].end_pts, book.breaks[0].in_cue) == (T0 + 20 * S, ret)
    assert book.on_cue(ret, T0 + 6 * S) == "repeated"
    book.on_cue(out(2, T0 + 30 * S, 60.0), T0 + 25 * S)
    assert book.on_cue(back(2, None), T0 + 40 * S) == "closed"  # an immediate return cuts the break short
    assert book.breaks[1].end_pts == T0 + 40 * S
    assert book.counts == CueCounts(opened=2, closed=2, repeated=1) and book.version == 4


def test_returns_for_no_known_break_or_one_that_ended_by_itself():
    book = BreakBook(max_break_s=120)
    assert book.on_cue(back(99, T0), T0) == "orphan_return"
    book.on_cue(out(1, T0 + S, 5.0), T0)
    assert book.on_cue(back(1, T0 + 6 * S), T0 + 7 * S) == "repeated"
    assert book.breaks[0].in_cue is None and book.counts.orphan_return == 1


def test_cancel_removes_a_future_break_and_ends_a_running_one():
    book = BreakBook(max_break_s=120)
    book.on_cue(out(1, T0 + 5 * S, 30.0), T0)
    assert book.on_cue(cancel(1), T0 + S) == "cancelled"
    assert book.breaks == () and book.active(T0 + 6 * S) is None and book.version == 2
    book.on_cue(out(2, T0 + 5 * S, 30.0), T0)
    assert book.on_cue(cancel(2), T0 + 8 * S) == "cancelled"
    assert book.breaks[0].end_pts == T0 + 8 * S and book.active(T0 + 8 * S) is None
    assert book.on_cue(cancel(2), T0 + 9 * S) == "cancel_unknown"  # that break is over
    assert book.on_cue(cancel(3), T0) == "cancel_unknown"
    assert (book.counts.cancelled, book.counts.cancel_unknown) == (2, 2)


@pytest.mark.parametrize(("pts33", "near", "expected"), [
    (100, 5 * PTS_MODULUS + 50, 5 * PTS_MODULUS + 100),
    (100, 5 * PTS_MODULUS - 50, 5 * PTS_MODULUS + 100),             # just past the wrap
    (PTS_MODULUS - 100, 5 * PTS_MODULUS + 50, 5 * PTS_MODULUS - 100),  # just before it
    (0, 0, 0),
])
def test_unwrap_places_a_33_bit_time_nearest_the_current_frame(pts33, near, expected):
    assert unwrap_pts(pts33, near) == expected


def test_splice_times_across_the_wrap():
    now = 3 * PTS_MODULUS - 2 * S  # two seconds before the 33-bit counter wraps
    book = BreakBook(max_break_s=120)
    assert book.on_cue(out(1, 3 * S, 10.0), now) == "opened"  # 33-bit time 3 s: five seconds ahead
    assert (book.breaks[0].start_pts, book.breaks[0].end_pts) == (3 * PTS_MODULUS + 3 * S, 3 * PTS_MODULUS + 13 * S)
    assert book.on_cue(back(1, 3 * PTS_MODULUS + 8 * S), 3 * PTS_MODULUS + 4 * S) == "closed"
    assert book.breaks[0].end_pts == 3 * PTS_MODULUS + 8 * S
    after = 4 * PTS_MODULUS + S  # just past the next wrap, a cue names a time just before it
    assert book.on_cue(out(2, 4 * PTS_MODULUS - 2 * S, 10.0), after) == "late"
    assert (book.breaks[1].start_pts, book.breaks[1].end_pts) == (after, 4 * PTS_MODULUS + 8 * S)


def test_an_open_break_ends_after_max_break_s():
    book = BreakBook(max_break_s=60)
    book.on_cue(out(1, T0), T0)
    book.on_cue(out(2, T0, 20.0), T0)
    assert book.expire(T0 + 60 * S - 1) == [] and book.version == 2
    (ended,) = book.expire(T0 + 60 * S)
    assert (ended.break_id, ended.end_pts) == ("scte35-1", T0 + 60 * S)
    assert book.breaks[0] == ended and book.active(T0 + 60 * S) is None
    assert book.counts.no_return == 1 and book.version == 3
    assert book.expire(T0 + 90 * S) == []


def test_active_prefers_the_latest_break_and_the_book_keeps_the_newest():
    book = BreakBook(max_break_s=120, keep=2)
    book.on_cue(out(1, T0, 60.0), T0)
    book.on_cue(out(2, T0 + 10 * S, 5.0), T0)
    assert book.active(T0 + 11 * S).break_id == "scte35-2" and book.active(T0 + 20 * S).break_id == "scte35-1"
    book.on_cue(out(3, T0 + 90 * S, 5.0), T0)
    assert [b.break_id for b in book.breaks] == ["scte35-2", "scte35-3"]


def test_max_break_s_must_be_positive():
    with pytest.raises(ValueError, match="max_break_s must be positive"):
        BreakBook(max_break_s=0)
