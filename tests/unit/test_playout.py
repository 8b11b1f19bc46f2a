"""Live playout: frames leave by their PTS after the jitter delay, discontinuities re-anchor, gaps get stand-ins."""
from __future__ import annotations

from mediagrid.broadcast.playout import Playout

MS = 1_000_000
FPS = 50
TICKS = 90_000 // FPS  # 1800 ticks a frame
PERIOD = 20 * MS


def make(delay_ms: int = 100, gap_ms: int = 200) -> Playout[str]:
    return Playout(fps=FPS, delay_ns=delay_ms * MS, gap_ns=gap_ms * MS)


def test_frames_leave_by_pts_after_the_delay_not_by_arrival() -> None:
    play = make()
    play.push(1000, arrival_ns=0, item="a")
    play.push(1000 + TICKS, arrival_ns=1 * MS, item="b")  # arrived early (burst): still due a period later
    assert play.poll(99 * MS) == (None, [])
    slot, skipped = play.poll(100 * MS)
    assert (slot.item, slot.index, slot.due_ns, skipped) == ("a", 0, 100 * MS, [])
    assert play.poll(119 * MS)[0] is None
    slot, _ = play.poll(120 * MS)
    assert (slot.item, slot.index, slot.pts) == ("b", 1, 1000 + TICKS)


def test_a_node_that_fell_behind_skips_to_the_newest_due_picture() -> None:
    play = make()
    for n in range(4):
        play.push(n * TICKS, arrival_ns=n * PERIOD, item=str(n))
    slot, skipped = play.poll(100 * MS + 3 * PERIOD)
    assert slot.item == "3" and skipped == ["0", "1", "2"]
    assert slot.index == 3 and play.counts.late_skipped == 3


def test_a_pts_jump_re_anchors_without_a_burst_or_a_stall() -> None:
    play = make()
    play.push(0, arrival_ns=0, item="a")
    play.poll(100 * MS)
    play.push(5_000_000, arrival_ns=PERIOD, item="new-session")  # a new encoder session: PTS far away
    slot, _ = play.poll(100 * MS + PERIOD)
    assert slot.item == "new-session" and slot.index == 1
    assert play.counts.discontinuities == 1
    play.push(5_000_000 + TICKS, arrival_ns=2 * PERIOD, item="next")
    assert play.poll(100 * MS + 2 * PERIOD)[0].item == "next"


def test_feed_loss_gets_stand_ins_every_period_until_the_feed_returns() -> None:
    play = make(gap_ms=200)
    play.push(0, arrival_ns=0, item="last")
    play.poll(100 * MS)
    assert play.poll(100 * MS + PERIOD + 199 * MS)[0] is None  # inside the gap tolerance: nothing yet
    first = play.poll(100 * MS + PERIOD + 200 * MS)[0]
    assert first.item is None and first.index == 1 and first.pts == TICKS
    assert first.due_ns == 100 * MS + PERIOD + 200 * MS  # decided now, so not born late
    second = play.poll(first.due_ns + PERIOD)[0]
    assert second.item is None and second.index == first.index + 1 and second.pts == 2 * TICKS
    # the broadcaster kept its clock: the returning picture fits the old mapping
    returning_pts = 30 * TICKS
    play.push(returning_pts, arrival_ns=30 * PERIOD, item="back")
    slot, _ = play.poll(100 * MS + 30 * PERIOD)
    assert slot.item == "back" and slot.index == second.index + 1
    assert play.counts.gaps == 1 and play.counts.stand_ins == 2 and play.counts.discontinuities == 0


def test_indices_strictly_increase_even_when_due_times_collide() -> None:
    play = make()
    play.push(0, arrival_ns=0, item="a")
    play.push(10, arrival_ns=0, item="b")  # a PTS step smaller than a frame
    first = play.poll(101 * MS)[0]
    assert first.item == "b"
    play.push(20, arrival_ns=0, item="c")
    assert play.poll(102 * MS)[0].index == first.index + 1
