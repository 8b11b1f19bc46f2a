import random

import pytest

from mediagrid.scheduler import Action, Deadline, EDFQueue, Outcome, Policy, admit, classify


def test_serves_earliest_deadline_first_and_protects_admitted_items():
    queue: EDFQueue[str] = EDFQueue(Policy.DROP)
    assert queue.offer("late", Deadline(0, 100), 30, now_ns=0).finish_ns == 30
    assert queue.offer("early", Deadline(0, 50), 30, now_ns=0).finish_ns == 30  # jumps ahead of "late"
    assert queue.offer("middle", Deadline(0, 60), 30, now_ns=0).finish_ns == 60
    # "late" now finishes at 90; a fourth item due at 70 would fit itself (60 + 10) but push "late" to 100:
    # still on time, so it is admitted; one more of 10 would make "late" miss, so it is refused.
    assert queue.offer("fourth", Deadline(0, 70), 10, now_ns=0).admitted
    refused = queue.offer("fifth", Deadline(0, 80), 11, now_ns=0)
    assert (refused.action, refused.outcome) == (Action.DROP, Outcome.DROPPED)
    served = []
    clock = 0
    while (job := queue.pop(clock)) is not None:
        served.append(job.item)
        clock += job.estimate_ns
        assert clock <= job.deadline.deadline_ns
    assert served == ["early", "middle", "fourth", "late"]
    assert queue.counts == {Outcome.DROPPED: 1}


@pytest.mark.parametrize(("policy", "action", "outcome"), [
    (Policy.DROP, Action.DROP, Outcome.DROPPED), (Policy.REUSE, Action.REUSE, Outcome.DEGRADED),
])
def test_refusal_follows_the_policy(policy, action, outcome):
    queue: EDFQueue[int] = EDFQueue(policy)
    queue.offer(1, Deadline(0, 10), 10, now_ns=0)
    answer = queue.offer(2, Deadline(0, 15), 10, now_ns=0)
    assert (answer.action, answer.outcome, answer.admitted) == (action, outcome, False)
    assert queue.counts[outcome] == 1 and len(queue) == 1


def test_degrade_queues_the_cheaper_variant_when_it_fits():
    queue: EDFQueue[int] = EDFQueue("degrade")
    queue.offer(1, Deadline(0, 10), 10, now_ns=0)
    answer = queue.offer(2, Deadline(0, 15), 10, now_ns=0, degraded_estimate_ns=4)
    assert answer.action is Action.DEGRADE and answer.admitted and answer.finish_ns == 14
    assert queue.offer(3, Deadline(0, 16), 10, now_ns=0, degraded_estimate_ns=4).action is Action.DROP
    assert queue.pop(0).item == 1
    job = queue.pop(10)
    assert (job.item, job.degraded, job.estimate_ns) == (2, True, 4)


def test_pop_sheds_items_that_can_no_longer_make_it():
    queue: EDFQueue[str] = EDFQueue(Policy.REUSE)
    queue.offer("a", Deadline(0, 20), 10, now_ns=0)
    queue.offer("b", Deadline(0, 30), 10, now_ns=0)
    queue.offer("c", Deadline(0, 100), 10, now_ns=0)
    assert queue.pop(0).item == "a"
    job = queue.pop(25)  # "a" overran: "b" cannot finish by 30 any more
    assert job.item == "c"
    shed = queue.take_shed()
    assert [(s.item, s.action, s.outcome) for s in shed] == [("b", Action.REUSE, Outcome.DEGRADED)]
    assert queue.take_shed() == [] and queue.pop(40) is None


def test_admit_adds_the_fit_rule_to_decide():
    assert admit(10, 5, Policy.DEGRADE, 2) is Action.RUN
    assert admit(4, 5, Policy.DEGRADE, 2) is Action.DEGRADE
    assert admit(1, 5, Policy.DEGRADE, 2) is Action.DROP
    assert admit(1, 5, Policy.DEGRADE) is Action.DROP
    assert admit(1, 5, Policy.REUSE, 0) is Action.REUSE


@pytest.mark.parametrize("seed", range(40))
def test_randomized_edf_order_admission_and_conservation(seed):
    """Never a later deadline before an earlier admissible one; with exact estimates no admitted item is
    late or shed; every offered item ends exactly once. One server on a virtual clock: it pops when it
    becomes free, or at once when an item arrives while it is idle."""
    rng = random.Random(seed)
    queue: EDFQueue[int] = EDFQueue(rng.choice(list(Policy)))
    exact = seed % 2 == 0  # odd seeds: service times deviate from the estimates
    ended: dict[int, str] = {}
    free_at = 0

    def serve(at: int) -> None:
        nonlocal free_at
        job = queue.pop(at)
        for shed in queue.take_shed():
            assert not exact, "an exactly estimated admitted item was shed"
            assert shed.item not in ended
            ended[shed.item] = "shed"
        if job is None:
            return
        assert all(d >= job.deadline.deadline_ns for d in queue.head_deadlines(len(queue))), \
            "a later deadline was served before an earlier admissible one"
        service = job.estimate_ns if exact else max(1, round(job.estimate_ns * rng.uniform(0.5, 1.6)))
        free_at = at + service
        if exact:
            assert classify(free_at, job.deadline) is Outcome.MET
        assert job.item not in ended
        ended[job.item] = "served"

    clock = 0
    for item in range(400):
        clock += rng.randint(0, 12)
        while len(queue) and free_at <= clock:
            serve(free_at)
        deadline = Deadline(clock, clock + rng.choice((20, 50, 200)))
        estimate = rng.randint(1, 15)
        answer = queue.offer(item, deadline, estimate, clock, degraded_estimate_ns=max(1, estimate // 3))
        if answer.admitted:
            assert answer.finish_ns <= deadline.deadline_ns
        else:
            ended[item] = "refused"
        if free_at <= clock:
            serve(clock)
    while len(queue):
        serve(free_at)
    assert sorted(ended) == list(range(400))
    assert sum(queue.counts.values()) == sum(1 for how in ended.values() if how != "served")
