import numpy as np
import pytest

from mediagrid.scheduler import EstimatorRegistry, ServiceTimeEstimator

QUANTILES = (0.0, 0.1, 0.5, 0.9, 0.99, 1.0)


def _samples(seed: int, n: int) -> np.ndarray:
    return np.round(np.random.default_rng(seed).lognormal(np.log(2e6), 0.6, n)).astype(np.int64)


@pytest.mark.parametrize("seed", range(5))
def test_fresh_window_matches_numpy_exactly(seed):
    data = _samples(seed, 700)
    estimator = ServiceTimeEstimator(window=1024, refresh_every=1)
    for value in data.tolist():
        estimator.update(value)
    for q in QUANTILES:
        assert abs(estimator.estimate_ns(q) - np.quantile(data, q)) <= 0.5, q
    assert estimator.count == 700 and estimator.size == 700
    assert estimator.mean_ns == pytest.approx(data.mean())


@pytest.mark.parametrize("seed", range(5))
def test_default_settings_track_the_distribution(seed):
    """With the default window and staleness, quantiles stay close to numpy's over all of i.i.d. data."""
    data = _samples(seed, 20_000)
    estimator = ServiceTimeEstimator()
    for i, value in enumerate(data.tolist()):
        estimator.update(value)
        if i % 97 == 0:
            estimator.estimate_ns()  # asked while updating, as on the per-item path
    for q, tolerance in ((0.5, 0.06), (0.9, 0.08), (0.99, 0.2)):
        assert estimator.estimate_ns(q) == pytest.approx(np.quantile(data, q), rel=tolerance), q


def test_window_forgets_old_samples():
    estimator = ServiceTimeEstimator(window=256, refresh_every=16)
    for _ in range(1000):
        estimator.update(1_000_000)
    for _ in range(300):
        estimator.update(5_000_000)
    assert estimator.estimate_ns(0.01) == 5_000_000
    assert estimator.mean_ns == 5_000_000


def test_staleness_is_bounded_by_refresh_every():
    estimator = ServiceTimeEstimator(window=1024, refresh_every=8)
    for _ in range(512):
        estimator.update(100)
    assert estimator.estimate_ns(1.0) == 100
    for _ in range(7):
        estimator.update(900)
    assert estimator.estimate_ns(1.0) == 100  # not yet re-sorted
    estimator.update(900)
    assert estimator.estimate_ns(1.0) == 900


def test_prior_before_any_sample_and_bad_quantile():
    estimator = ServiceTimeEstimator(prior_ns=3_000_000)
    assert estimator.estimate_ns() == 3_000_000 and estimator.mean_ns == 3_000_000 and estimator.count == 0
    with pytest.raises(ValueError):
        estimator.estimate_ns(1.5)
    with pytest.raises(ValueError):
        ServiceTimeEstimator(window=0)


def test_registry_makes_one_estimator_per_stage():
    registry = EstimatorRegistry(prior_ns=5)
    registry["decode"].update(10)
    registry["decode"].update(30)
    assert registry["rank"].estimate_ns() == 5
    assert registry["decode"] is registry["decode"]
    snapshot = registry.snapshot(q=1.0)
    assert list(snapshot) == ["decode", "rank"]
    assert snapshot["decode"] == {"count": 2, "mean_ns": 20.0, "estimate_ns": 30}
