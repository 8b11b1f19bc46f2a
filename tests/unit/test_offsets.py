import random

from mediagrid.kafka.offsets import OffsetTracker, PartitionOffsets


def test_commit_point_is_lowest_unacked():
    p = PartitionOffsets()
    assert p.commit_point() is None
    for offset in (10, 11, 12, 13):
        p.delivered(offset)
    p.acked(12)
    p.acked(11)
    assert p.commit_point() == 10  # 10 still in flight: nothing past it may be committed
    p.acked(10)
    assert p.commit_point() == 13
    p.acked(13)
    assert p.commit_point() == 14 and p.pending == 0


def test_random_ack_orders_never_commit_past_an_unacked_offset():
    rng = random.Random(7)
    for _ in range(300):
        p = PartitionOffsets()
        offsets = list(range(rng.randrange(1, 40)))
        for o in offsets:
            p.delivered(o)
        order = offsets[:]
        rng.shuffle(order)
        acked: set[int] = set()
        for o in order:
            p.acked(o)
            acked.add(o)
            point = p.commit_point()
            assert all(x in acked for x in range(point))  # everything below the commit point is done
            assert point == len(offsets) or point not in acked
        assert p.commit_point() == len(offsets)


def test_tracker_reports_only_moved_points_and_forgets_revoked():
    t = OffsetTracker()
    t.delivered(("topic", 0), range(5))
    t.delivered(("topic", 1), [100])
    t.acked(("topic", 0), [1, 0])
    points = t.to_commit()
    assert points == {("topic", 0): 2, ("topic", 1): 100}
    t.committed(points)
    assert t.to_commit() == {}
    t.forget([("topic", 1)])
    t.acked(("topic", 1), [100])  # late ack for a revoked partition: ignored, no error
    assert ("topic", 1) not in t.to_commit()
    assert t.pending() == 3
