import pytest

from mediagrid.scheduler import Action, Deadline, Outcome, Policy, classify, decide


def test_deadline_from_budget_and_remaining():
    d = Deadline.from_budget(1_000, 16_700_000)
    assert d.deadline_ns == 16_701_000
    assert d.budget_ns == 16_700_000
    assert d.remaining_ns(at_ns=1_000) == 16_700_000
    assert d.remaining_ns(at_ns=20_000_000) < 0


@pytest.mark.parametrize("budget", [0, -5])
def test_non_positive_budget_is_rejected(budget):
    with pytest.raises(ValueError, match="positive"):
        Deadline.from_budget(0, budget)


@pytest.mark.parametrize(
    "remaining, estimate, policy, expected",
    [
        (10, 5, Policy.DROP, Action.RUN),
        (5, 5, Policy.DROP, Action.RUN),  # exactly fits
        (4, 5, Policy.DROP, Action.DROP),
        (4, 5, Policy.DEGRADE, Action.DEGRADE),
        (-1, 5, Policy.REUSE, Action.REUSE),
        (4, 5, "degrade", Action.DEGRADE),  # policies arrive from YAML as strings
    ],
)
def test_decide(remaining, estimate, policy, expected):
    assert decide(remaining, estimate, policy) is expected


def test_classify_rules():
    d = Deadline(0, 100)
    assert classify(100, d) is Outcome.MET
    assert classify(101, d) is Outcome.MISSED
    assert classify(50, d, degraded=True) is Outcome.DEGRADED
    assert classify(150, d, degraded=True) is Outcome.MISSED  # late beats degraded
    assert classify(10, d, dropped=True) is Outcome.DROPPED
