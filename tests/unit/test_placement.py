import math
import random
from typing import Any

import numpy as np
import pytest

from mediagrid.config.topology_checks import jurisdiction_allowed
from mediagrid.grid import STRATEGIES, GridState, LatencyModel, SessionRequest, Topology, make_policy
from mediagrid.grid.placement import MAX_REASON_CHARS, MAX_REASONS

CODES = ["DE", "FR", "NL", "US", "US-CA", "GB", "PL"]
GROUPS = {"EU": ["DE", "FR", "NL", "PL"]}


def _site(i: int, **overrides: Any) -> dict[str, Any]:
    return {"id": f"s{i}", "location": {"lat": 50.0, "lon": 8.0}, "jurisdiction": "DE", "gpus": 8,
            "service_rate_per_gpu": 100.0, "cost_per_gpu_hour": 2.0, "health": "healthy", **overrides}


def _topology(sites: list[dict[str, Any]], rtt: list[float], **extra: Any) -> Topology:
    return Topology.from_dict({"sla_ms": 60, "sites": sites, "regions": [
        {"id": "r", "jurisdiction": "DE", "rtt_ms": {s["id"]: ms for s, ms in zip(sites, rtt)}}], **extra})


def _random_topology(rng: random.Random) -> Topology:
    sites = []
    for i in range(rng.randint(2, 12)):
        site = _site(i, jurisdiction=rng.choice(CODES), gpus=rng.randint(0, 16),
                     service_rate_per_gpu=rng.choice((20.0, 50.0, 100.0)), cost_per_gpu_hour=rng.uniform(1, 4),
                     health=rng.choice(("healthy", "healthy", "degraded", "down")))
        for key in ("model_jurisdiction", "log_jurisdiction"):
            if rng.random() < 0.4:
                site[key] = rng.choice(CODES)
        quota = {k: v for k, v in (("max_sessions", rng.randint(0, 6)), ("max_gpus", rng.randint(0, 16)))
                 if rng.random() < 0.5}
        if quota:
            site["quota"] = quota
        sites.append(site)
    regions = [{"id": f"r{j}", "jurisdiction": "DE",
                "rtt_ms": {s["id"]: rng.uniform(1, 40) for s in sites if rng.random() < 0.8} or {"s0": 5.0}}
               for j in range(3)]
    use_cases = {}
    for k in range(3):
        rules = {kind: rng.sample(CODES + ["EU"], rng.randint(1, 3)) for kind in ("data", "model", "logs")
                 if rng.random() < 0.6}
        use_cases[f"u{k}"] = {"sla_ms": rng.choice((30, 60, 120)), **({"sovereignty": rules} if rules else {})}
    return Topology.from_dict({"sla_ms": 60, "sites": sites, "regions": regions, "use_cases": use_cases,
                               "jurisdiction_groups": GROUPS})


def _may_hold(topology: Topology, use_case: str, site: int) -> bool:
    """Sovereignty, re-derived from the raw fields (not through Topology.violations)."""
    rules, where = topology.use_cases[use_case], topology.sites[site]
    for allowed, place in ((rules.data, where.jurisdiction), (rules.model, where.model_jurisdiction),
                           (rules.logs, where.log_jurisdiction)):
        if allowed is None:
            continue
        country = place.split("-")[0]
        if not any(place == e or country == e or place in GROUPS.get(e, ()) or country in GROUPS.get(e, ())
                   for e in allowed):
            return False
    return True


def test_10000_random_placements_keep_the_hard_rules():
    """Every strategy, 10,000 placements in all: never a sovereignty violation, a down site, a full session
    quota, a site outside the pool or out of reach; the grid takes a degraded site only when no healthy one
    predicts inside the SLA."""
    rng = random.Random(20261127)
    placements = chosen = 0
    while placements < 10_000:
        topology = _random_topology(rng)
        pool = rng.sample([s.id for s in topology.sites], rng.randint(1, len(topology.sites))) \
            if rng.random() < 0.3 else None
        state = GridState(topology)
        policies = [make_policy(name, topology, sites=pool, seed=placements) for name in STRATEGIES]
        for n in range(125):
            if rng.random() < 0.1:
                state.observe(rng.randrange(len(topology.sites)), health=rng.choice(("healthy", "degraded", "down")))
            policy = policies[n % len(policies)]
            session = SessionRequest(f"x{n % 40}", rng.choice([r.id for r in topology.regions]),
                                     rng.choice(list(topology.use_cases)), rng.uniform(0.5, 30))
            decision = policy.place(session, state)
            placements += 1
            if decision.site_index < 0:
                assert decision.site is None and decision.why.startswith("no site")
                continue
            chosen += 1
            site = decision.site_index
            region = topology.region_index[session.region]
            placed = state.placed(session.session_id)
            own = 1 if placed is not None and placed[0] == site else 0
            assert _may_hold(topology, session.use_case, site), decision.reasons
            assert state.health[site] != 2, "placed on a down site"
            assert state.sessions[site] - own < topology.max_sessions[site], "placed over the session quota"
            assert pool is None or topology.sites[site].id in pool
            assert topology.rtt_ns[region, site] >= 0
            if policy.name == "grid" and state.health[site] == 1 and not decision.why.startswith("best effort"):
                ev = decision.evidence
                healthy_inside = ev.eligible & (ev.health == 0) & (ev.latency_ns <= ev.sla_ns)
                assert not healthy_inside.any(), "degraded site chosen while a healthy one qualified"
            state.attach(session.session_id, site, session.rate_rps)
    assert chosen > 2000  # the property is not vacuous


def test_grid_prefers_cheap_within_sla_and_spills_when_loaded():
    topology = _topology([_site(0, cost_per_gpu_hour=1.0, gpus=2), _site(1, cost_per_gpu_hour=3.0)], [5, 10])
    state = GridState(topology)
    policy = make_policy("grid", topology)
    first = policy.place(SessionRequest("a", "r", rate_rps=20), state)
    assert first.site == "s0" and first.why.startswith("chose s0: cheapest")
    state.load_rps[0] = 190  # s0 near its 200 requests/s: queueing would break the SLA
    second = policy.place(SessionRequest("b", "r", rate_rps=20), state)
    assert second.site == "s1"
    assert "exceeds the SLA of 60 ms" in second.rejected["s0"]
    assert second.predicted_latency_ms is not None and second.predicted_latency_ms <= 60


def test_affinity_keeps_a_session_until_its_site_no_longer_qualifies():
    topology = _topology([_site(0, cost_per_gpu_hour=3.0), _site(1, cost_per_gpu_hour=1.0)], [5, 5])
    state = GridState(topology)
    state.attach("s", 0, 10.0)  # warm state on the pricier site
    policy = make_policy("grid", topology)
    stay = policy.place(SessionRequest("s", "r", rate_rps=10.0), state)
    assert stay.site == "s0" and "warm state" in stay.why
    assert stay.rejected["s1"] == "the session's warm state is on the chosen site"
    state.observe("s0", health="down")
    moved = policy.place(SessionRequest("s", "r", rate_rps=10.0), state)
    assert moved.site == "s1" and moved.rejected["s0"] == "site is down"
    state.attach("s", 1, 10.0)
    assert state.sessions.tolist() == [0, 1] and state.load_rps.tolist() == [0.0, 10.0]


def test_degraded_only_as_fallback_and_best_effort_when_nothing_fits():
    topology = _topology([_site(0, health="degraded", cost_per_gpu_hour=1.0), _site(1, cost_per_gpu_hour=3.0)], [5, 5])
    state = GridState(topology)
    policy = make_policy("grid", topology)
    assert policy.place(SessionRequest("a", "r"), state).site == "s1"
    state.load_rps[1] = 799.0  # the healthy site is saturated
    fallback = policy.place(SessionRequest("b", "r"), state)
    assert fallback.site == "s0" and "degraded" in fallback.why
    state.load_rps[0] = 799.0
    effort = policy.place(SessionRequest("c", "r"), state)
    assert effort.why.startswith("best effort on s1")  # healthy first when nothing fits


def test_sovereignty_reasons_and_baselines():
    sites = [_site(0, gpus=32, jurisdiction="US"), _site(1, log_jurisdiction="US"), _site(2, jurisdiction="FR"),
             _site(3, health="down")]
    topology = _topology(sites, [30, 2, 8, 1], use_cases={"eu": {"sovereignty": {"data": ["EU"], "logs": ["EU"]}}},
                         jurisdiction_groups=GROUPS)
    state = GridState(topology)
    session = SessionRequest("a", "r", "eu")
    central = make_policy("central", topology).place(session, state)
    assert central.site is None and "sovereignty: data must stay in EU; the site keeps its data in US" in central.why
    nearest = make_policy("nearest", topology).place(session, state)
    assert nearest.site == "s2"
    assert nearest.rejected == {"s0": "sovereignty: data must stay in EU; the site keeps its data in US; "
                                      "logs must stay in EU; the site keeps its logs in US",
                                "s1": "sovereignty: logs must stay in EU; the site keeps its logs in US",
                                "s3": "site is down"}
    grid = make_policy("grid", topology).place(session, state)
    assert grid.site == "s2"
    assert len(grid.reasons) <= MAX_REASONS and all(0 < len(r) <= MAX_REASON_CHARS for r in grid.reasons)
    assert any(r.startswith("rejected s0: sovereignty") for r in grid.reasons)
    unrestricted = _topology(sites, [30, 2, 8, 1])  # no use cases: no sovereignty rule
    assert make_policy("central", unrestricted).place(SessionRequest("b", "r"), GridState(unrestricted)).site == "s0"
    with pytest.raises(ValueError, match="unknown placement strategy"):
        make_policy("cheapest", topology)


def test_random_is_seeded():
    topology = _topology([_site(i) for i in range(6)], [5] * 6)
    state = GridState(topology)
    draws = [[make_policy("random", topology, seed=seed).place(SessionRequest(n, "r"), state).site
              for n in range(20)] for seed in (1, 1, 2)]
    assert draws[0] == draws[1] != draws[2]


def test_jurisdiction_matching():
    assert jurisdiction_allowed("US-CA", ["US"], {})
    assert not jurisdiction_allowed("US", ["US-CA"], {})
    assert jurisdiction_allowed("DE", ["EU"], GROUPS) and not jurisdiction_allowed("GB", ["EU"], GROUPS)
    assert jurisdiction_allowed("EU", ["EU"], {})


def _erlang_c(servers: int, offered: float) -> float:
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
    return blocking / (1.0 - offered / servers * (1.0 - blocking))


@pytest.mark.parametrize("servers", [1, 2, 8, 32, 128])
@pytest.mark.parametrize("rho", [0.4321, 0.8123, 0.9567, 0.9991])
def test_wait_quantile_matches_the_exact_erlang_c_model(servers, rho):
    """The tabulated Erlang C against the exact M/M/c tail, at cv = 1 (exponential service)."""
    model = LatencyModel(np.array([servers]), np.array([10.0]), q=0.99, service_cv=1.0)
    load = rho * servers * 10.0
    exact_c = _erlang_c(servers, rho * servers)
    exact = max(0.0, math.log(exact_c / 0.01) / (servers * 10.0 - load)) * 1e9
    predicted = float(model.wait_ns(np.array([0]), np.array([load]))[0])
    assert predicted == pytest.approx(exact, rel=0.01, abs=1e5)


def test_overloaded_site_predicts_unbounded_latency():
    model = LatencyModel(np.array([4, 0]), np.array([10.0, 10.0]))
    wait = model.wait_ns(np.array([0, 0, 1]), np.array([40.0, 0.0, 0.0]))
    assert math.isinf(wait[0]) and wait[1] == 0.0 and math.isinf(wait[2])
