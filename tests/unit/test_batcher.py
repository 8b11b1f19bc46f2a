import random

import pytest

from mediagrid.scheduler import BatchModel, BatchPlan, plan_batch


def test_grows_while_the_earliest_deadline_allows():
    model = BatchModel(fixed_ns=10, per_item_ns=5)
    assert plan_batch([100, 100, 100], 0, model, max_batch=8) == BatchPlan(0, 0, 100 - model.service_ns(4))
    assert plan_batch([100, 100, 100], 75, model, max_batch=8) == BatchPlan(0, 3, None)  # 75 + 30 > 100: flush
    assert plan_batch([40, 100, 100, 100], 0, model, max_batch=8) == BatchPlan(0, 0, 40 - model.service_ns(5))


def test_full_batch_flushes_at_once_and_deadline_bounds_size():
    model = BatchModel(fixed_ns=10, per_item_ns=5)
    assert plan_batch([1000] * 5, 0, model, max_batch=4) == BatchPlan(0, 4, None)
    assert plan_batch([30, 1000, 1000, 1000], 0, model, max_batch=8) == BatchPlan(0, 4, None)
    assert plan_batch([25, 1000, 1000, 1000], 0, model, max_batch=8) == BatchPlan(0, 3, None)


def test_hopeless_requests_are_left_to_the_policy():
    model = BatchModel(fixed_ns=10, per_item_ns=5)
    assert plan_batch([12, 14, 200], 0, model, max_batch=8) == BatchPlan(2, 0, 200 - model.service_ns(2))
    assert plan_batch([12, 14], 0, model, max_batch=8) == BatchPlan(2, 0, None)
    assert plan_batch([], 0, model, max_batch=8) == BatchPlan(0, 0, None)


def test_model_must_take_time():
    with pytest.raises(ValueError):
        BatchModel(0, 0)
    with pytest.raises(ValueError):
        plan_batch([1], 0, BatchModel(1, 1), max_batch=0)


@pytest.mark.parametrize("seed", range(200))
def test_randomized_plan_never_misses_when_a_smaller_batch_would_not(seed):
    rng = random.Random(seed)
    model = BatchModel(rng.randint(0, 50), rng.randint(1 if seed % 2 else 0, 20) or 1)
    now = rng.randint(0, 1000)
    deadlines = sorted(now + rng.randint(-50, 600) for _ in range(rng.randint(0, 40)))
    max_batch = rng.randint(1, 16)
    plan = plan_batch(deadlines, now, model, max_batch)
    alone = now + model.service_ns(1)
    assert all(d < alone for d in deadlines[: plan.hopeless])
    rest = deadlines[plan.hopeless:]
    assert not rest or rest[0] >= alone
    if plan.take:
        earliest = rest[0]
        assert now + model.service_ns(plan.take) <= earliest, "the batch misses its earliest deadline"
        bigger = plan.take + 1
        assert bigger > min(len(rest), max_batch) or now + model.service_ns(bigger) > earliest, "not the largest"
        assert plan.wait_until_ns is None
    elif rest:
        assert len(rest) < max_batch and plan.wait_until_ns is not None and plan.wait_until_ns > now
        later = plan_batch(deadlines, plan.wait_until_ns, model, max_batch)
        assert (later.hopeless, later.take) == (plan.hopeless, len(rest)), "waiting lost a request"


@pytest.mark.parametrize("seed", range(20))
def test_driven_by_arrivals_no_batch_is_late(seed):
    """A server that follows the plans on a virtual clock, with exact batch times, never finishes a request
    after its deadline; hopeless ones are counted, none is lost."""
    rng = random.Random(seed)
    model = BatchModel(fixed_ns=rng.randint(5, 30), per_item_ns=rng.randint(1, 8))
    arrivals = sorted(rng.randint(0, 5000) for _ in range(300))
    queue: list[int] = []
    clock, free_at, next_arrival, served, given_up = 0, 0, 0, 0, 0
    while next_arrival < len(arrivals) or queue:
        plan = plan_batch(queue, clock, model, max_batch=8)
        given_up += plan.hopeless
        del queue[: plan.hopeless]
        if plan.take and clock >= free_at:
            finish = clock + model.service_ns(plan.take)
            assert all(finish <= d for d in queue[: plan.take])
            served += plan.take
            del queue[: plan.take]
            free_at = finish
        events = [t for t in (plan.wait_until_ns, free_at if free_at > clock else None,
                              arrivals[next_arrival] if next_arrival < len(arrivals) else None) if t is not None]
        if not events:
            continue
        clock = max(clock, min(events))
        while next_arrival < len(arrivals) and arrivals[next_arrival] <= clock:
            queue.append(arrivals[next_arrival] + rng.randint(40, 150))
            next_arrival += 1
        queue.sort()
    assert served + given_up == len(arrivals) and served > 0
