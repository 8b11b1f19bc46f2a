"""Discrete-event grid simulation: the same traffic under each placement strategy, side by side.

The model, in three phases that keep 1,000 sites x 1,000,000 requests within a minute (perf/results/simulator_scale.md):

1. **Traffic** (numpy, once, shared by every strategy so that they face the same draws): sessions arrive
   per region as a Poisson process whose rate bursts multiply (piecewise constant); the grid starts in
   steady state (the sessions already running at t=0 are drawn with their memoryless residual lengths).
   Each session sends Poisson requests while it lasts; each request's service work is a gamma draw of
   mean 1 and coefficient of variation ``service_cv``, scaled by the serving site's 1/service rate.
2. **Control plane** (event loop over session arrivals and ends): the strategy places each new session
   against a :class:`~mediagrid.grid.state.GridState` that books each running session's request rate
   on its site, exactly what the live control plane does between heartbeats; a session never moves.
3. **Data plane** (per site, over that site's requests in arrival order): a request reaches the site half
   an RTT after it was sent, waits first-come first-served for one of the site's GPUs (quota applied),
   and its answer takes the other half of the RTT back. With admission on, each site's node scheduler
   compares the budget left at the request's start with its online p-quantile service estimate
   (:class:`~mediagrid.scheduler.ServiceTimeEstimator`) and applies :func:`~mediagrid.scheduler.admit`
   with the workload's policy, as a node does; a refused request takes no GPU time. (Admission here sees
   the request's actual start time, where a node adds up estimates of the work queued ahead: a little
   more permissive than a node, alike for every strategy.)

Every request ends in exactly one outcome, by :func:`~mediagrid.scheduler.classify` (vectorised by
:func:`~mediagrid.scheduler.classify_array`): a session that no site may take has its requests dropped.
Within a site the queue is FIFO, which equals EDF when all requests share one budget (one use case);
with several use cases of different SLAs it is the pessimistic order.
"""
from __future__ import annotations

import heapq
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mediagrid.errors import UsageError
from mediagrid.grid.placement import PlacementPolicy, SessionRequest, make_policy
from mediagrid.grid.plot import write_plot
from mediagrid.grid.queueing import LatencyModel
from mediagrid.grid.state import GridState
from mediagrid.grid.topology import Topology
from mediagrid.grid.workload import AdmissionSpec, StrategySpec, Workload, default_workload, load_workload
from mediagrid.metrics import Series, summarize_series, write_summary
from mediagrid.runtime.clock import NS_PER_S
from mediagrid.scheduler import OUTCOMES, Action, Outcome, ServiceTimeEstimator, admit, classify_array

#: At most this many time bins in each strategy's timeline (goodput and p99 over time, for plots).
MAX_BINS = 240
_GOOD = np.array([o in (Outcome.MET, Outcome.DEGRADED) for o in OUTCOMES])
_DROPPED = OUTCOMES.index(Outcome.DROPPED)


@dataclass(frozen=True)
class Traffic:
    """Sessions sorted by start, and their requests (unsorted), as parallel arrays."""

    session_start_ns: np.ndarray
    session_end_ns: np.ndarray
    session_region: np.ndarray
    session_use_case: np.ndarray
    request_session: np.ndarray
    request_origin_ns: np.ndarray
    request_deadline_ns: np.ndarray  # origin + the SLA of the session's use case
    request_work: np.ndarray  # service work in units of the serving site's mean service time


def simulate(
    topology_path: str | os.PathLike[str], workload_path: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str],
) -> dict[str, Any]:
    """Simulate every strategy of the workload on the topology; write ``out_dir/summary.json`` and
    ``out_dir/simulation.svg``; return the summary.

    A bad topology or workload raises :class:`~mediagrid.config.ConfigError` (every issue, located); an
    ``out_dir`` that cannot be written raises :class:`~mediagrid.errors.UsageError`.
    """
    started = time.perf_counter()
    topology = Topology.load(topology_path)
    workload = default_workload(topology) if workload_path is None else load_workload(workload_path, topology)
    loaded = time.perf_counter() - started
    summary = run(topology, workload)
    summary["topology"] = os.fspath(topology_path)
    summary["timing_s"]["load"] = round(loaded, 3)
    out = Path(out_dir)
    try:
        write_summary(summary, out)
        write_plot(summary, out / "simulation.svg")
    except OSError as exc:
        raise UsageError(f"cannot write the simulation to {out}: {exc.strerror or exc}") from None
    return summary


def run(topology: Topology, workload: Workload) -> dict[str, Any]:
    """The summary of simulating ``workload`` on ``topology`` under each of its strategies (nothing written)."""
    clock = time.perf_counter()
    traffic = generate(topology, workload)
    timing = {"generate": round(time.perf_counter() - clock, 3)}
    strategies = {}
    for spec in workload.strategies:
        clock = time.perf_counter()
        strategies[spec.name] = _simulate_strategy(topology, workload, traffic, spec)
        timing[spec.name] = round(time.perf_counter() - clock, 3)
    timing["total"] = round(sum(timing.values()), 3)
    return {
        "topology": None, "workload": workload.source, "seed": workload.seed, "duration_s": workload.duration_s,
        "sla_ms": _shared_sla(topology), "service_cv": workload.service_cv,
        "placement_quantile": workload.placement_quantile, "sites": len(topology.sites),
        "regions": len(topology.regions),
        "sessions": int(len(traffic.session_start_ns)), "requests": int(len(traffic.request_origin_ns)),
        "bursts": [{"start_s": b.start_s, "duration_s": b.duration_s, "factor": b.factor, "regions": list(b.regions)}
                   for b in workload.bursts],
        "admission": {"enabled": workload.admission.enabled, "policy": workload.admission.policy.value,
                      "quantile": workload.admission.quantile, "degraded_cost": workload.admission.degraded_cost},
        "strategies": strategies,
        "timing_s": timing,
    }


# --- phase 1: traffic -----------------------------------------------------------------------------------

def generate(topology: Topology, workload: Workload) -> Traffic:
    """Sessions and requests for the whole run, from the workload's seed alone."""
    rng = np.random.default_rng(workload.seed)
    horizon = workload.duration_s
    region_ids = [r.id for r in topology.regions]
    base = np.array([workload.arrivals_per_s[r] for r in region_ids])
    edges = sorted({0.0, horizon, *(t for b in workload.bursts for t in (b.start_s, b.end_s) if 0 < t < horizon)})
    starts, regions = [], []
    rate0 = base * _burst_factor(workload, region_ids, 0.0)
    running = rng.poisson(rate0 * workload.mean_session_s)  # steady state at t=0: M/G/inf occupancy
    starts.append(np.zeros(running.sum()))
    regions.append(np.repeat(np.arange(len(region_ids)), running))
    for low, high in zip(edges, edges[1:]):
        counts = rng.poisson(base * _burst_factor(workload, region_ids, low) * (high - low))
        starts.append(low + rng.random(counts.sum()) * (high - low))
        regions.append(np.repeat(np.arange(len(region_ids)), counts))
    start_s = np.concatenate(starts)
    order = np.argsort(start_s, kind="stable")
    start_s, region = start_s[order], np.concatenate(regions)[order]
    length = rng.exponential(workload.mean_session_s, len(start_s))  # residual lengths at t=0 are exponential too
    end_s = np.minimum(start_s + length, horizon)
    shares = np.array(list(workload.use_cases.values()))
    use_case_names = list(topology.use_cases)
    use_case = np.array([use_case_names.index(n) for n in workload.use_cases])[
        rng.choice(len(shares), size=len(start_s), p=shares)]
    per_session = rng.poisson(workload.requests_per_s * (end_s - start_s))
    session = np.repeat(np.arange(len(start_s)), per_session)
    origin_s = start_s[session] + rng.random(len(session)) * (end_s - start_s)[session]
    cv = workload.service_cv
    work = rng.gamma(1.0 / cv**2, cv**2, len(session)) if cv > 0 else np.ones(len(session))
    origin = _ns(origin_s)
    budget_ns = np.array([round(u.sla_ms * 1e6) for u in topology.use_cases.values()], dtype=np.int64)
    return Traffic(
        session_start_ns=_ns(start_s), session_end_ns=_ns(end_s), session_region=region, session_use_case=use_case,
        request_session=session, request_origin_ns=origin, request_deadline_ns=origin + budget_ns[use_case[session]],
        request_work=work)


def _burst_factor(workload: Workload, region_ids: list[str], at_s: float) -> np.ndarray:
    """Arrival-rate multiplier per region at ``at_s`` (bursts that overlap multiply)."""
    factor = np.ones(len(region_ids))
    for burst in workload.bursts:
        if burst.start_s <= at_s < burst.end_s:
            hit = np.array([not burst.regions or r in burst.regions for r in region_ids])
            factor[hit] *= burst.factor
    return factor


def _ns(seconds: np.ndarray) -> np.ndarray:
    return np.round(seconds * NS_PER_S).astype(np.int64)


# --- phase 2: control plane -----------------------------------------------------------------------------

def place_sessions(policy: PlacementPolicy, topology: Topology, workload: Workload, traffic: Traffic) -> np.ndarray:
    """The site index of every session under ``policy`` (-1: no site may take it)."""
    state = GridState(topology)
    region_ids = [r.id for r in topology.regions]
    use_cases = list(topology.use_cases)
    rate = workload.requests_per_s
    sites = np.full(len(traffic.session_start_ns), -1, dtype=np.int64)
    ends: list[tuple[int, int]] = []
    columns = (traffic.session_start_ns.tolist(), traffic.session_end_ns.tolist(),
               traffic.session_region.tolist(), traffic.session_use_case.tolist())
    for session, (start, end, region, use_case) in enumerate(zip(*columns)):
        while ends and ends[0][0] <= start:
            state.detach(heapq.heappop(ends)[1])
        site = policy.place(SessionRequest(session, region_ids[region], use_cases[use_case], rate), state).site_index
        if site >= 0:
            state.attach(session, site, rate)
            heapq.heappush(ends, (end, session))
            sites[session] = site
    return sites


# --- phase 3: data plane --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Served:
    """Per request: when its answer (or refusal) reached the viewer, and how it ended."""

    finished_ns: np.ndarray
    degraded: np.ndarray
    dropped: np.ndarray
    busy_ns: np.ndarray  # per site: GPU time spent


def serve(topology: Topology, workload: Workload, traffic: Traffic, session_site: np.ndarray) -> Served:
    """Run every site's queue over the requests of the sessions placed on it."""
    n = len(traffic.request_origin_ns)
    site = session_site[traffic.request_session]
    origin = traffic.request_origin_ns
    finished = origin.copy()  # requests of unplaced sessions are refused at once
    degraded = np.zeros(n, dtype=bool)
    dropped = site < 0
    busy = np.zeros(len(topology.sites), dtype=np.int64)
    placed = np.flatnonzero(site >= 0)
    if not len(placed):
        return Served(finished, degraded, dropped, busy)
    site_p = site[placed]
    rtt = topology.rtt_ns[traffic.session_region[traffic.request_session[placed]], site_p]
    there, back = rtt // 2, rtt - rtt // 2
    arrive = origin[placed] + there
    due = traffic.request_deadline_ns[placed] - back  # the answer must still travel back
    mean_ns = NS_PER_S / topology.service_rate[site_p]
    service = np.maximum(1, np.round(traffic.request_work[placed] * mean_ns)).astype(np.int64)
    order = np.lexsort((arrive, site_p))
    bounds = np.flatnonzero(np.diff(site_p[order])) + 1
    done = np.empty(len(placed), dtype=np.int64)
    was_degraded = np.zeros(len(placed), dtype=bool)
    was_dropped = np.zeros(len(placed), dtype=bool)
    for chunk in np.split(order, bounds):
        s = int(site_p[chunk[0]])
        prior_ns = round(NS_PER_S / float(topology.service_rate[s]))  # the estimate until samples arrive
        end, deg, drop, busy[s] = _site_queue(arrive[chunk].tolist(), due[chunk].tolist(), service[chunk].tolist(),
                                              int(topology.servers[s]), workload.admission, prior_ns)
        done[chunk], was_degraded[chunk], was_dropped[chunk] = end, deg, drop
    finished[placed] = done + back
    degraded[placed] = was_degraded
    dropped[placed] = was_dropped
    return Served(finished, degraded, dropped, busy)


def _site_queue(
    arrive: list[int], due: list[int], service: list[int], servers: int, admission: AdmissionSpec, prior_ns: int,
) -> tuple[list[int], list[bool], list[bool], int]:
    """One site: ``servers`` GPUs, FIFO, admission at the start of each request. The hot loop of the
    simulator (one pass per request, no allocation beyond the result lists)."""
    n = len(arrive)
    finish, degraded, dropped = list(arrive), [False] * n, [False] * n
    if servers == 0:  # no GPU the grid may use: nothing can be served
        return finish, degraded, [True] * n, 0
    free = [0] * servers  # a heap of the times each GPU becomes free
    estimator = ServiceTimeEstimator(prior_ns=prior_ns, refresh_every=256)  # a site sees thousands of requests
    policy, q, cheaper, gate = admission.policy, admission.quantile, admission.degraded_cost, admission.enabled
    run, cut, reuse, drop = Action.RUN, Action.DEGRADE, Action.REUSE, Action.DROP
    busy = 0
    for k in range(n):
        at, first_free = arrive[k], free[0]
        start = at if at > first_free else first_free
        work = service[k]
        if gate:
            estimate = estimator.estimate_ns(q)
            action = admit(due[k] - start, estimate, policy, int(estimate * cheaper))
            if action is run:
                estimator.update(work)
            elif action is cut:
                work = max(1, int(work * cheaper))
                degraded[k] = True
            else:  # reuse (the last good answer, degraded) or drop, decided when the request arrives
                degraded[k] = action is reuse
                dropped[k] = action is drop
                continue
        finish[k] = start + work
        heapq.heapreplace(free, start + work)
        busy += work
    return finish, degraded, dropped, busy


# --- metrics ----------------------------------------------------------------------------------------------

def _simulate_strategy(topology: Topology, workload: Workload, traffic: Traffic, spec: StrategySpec) -> dict[str, Any]:
    model = LatencyModel(topology.servers, topology.service_rate, q=workload.placement_quantile,
                         service_cv=workload.service_cv)
    policy = make_policy(spec.name, topology, sites=spec.sites, seed=workload.seed, model=model)
    session_site = place_sessions(policy, topology, workload, traffic)
    served = serve(topology, workload, traffic, session_site)
    return _metrics(topology, workload, traffic, spec, session_site, served)


def _metrics(
    topology: Topology, workload: Workload, traffic: Traffic, spec: StrategySpec, session_site: np.ndarray,
    served: Served,
) -> dict[str, Any]:
    origin = traffic.request_origin_ns
    codes = classify_array(served.finished_ns, traffic.request_deadline_ns, degraded=served.degraded,
                           dropped=served.dropped)
    latency_ms = (served.finished_ns - origin) / 1e6
    good = _GOOD[codes]
    answered = codes != _DROPPED
    duration = workload.duration_s
    used = np.zeros(len(topology.sites), dtype=bool)
    used[session_site[session_site >= 0]] = True
    provisioned_per_s = float((topology.servers * topology.cost_per_gpu_hour)[used].sum()) / 3600.0
    gpu_seconds = float(topology.servers[used].sum()) * duration
    in_burst = _in_windows(origin, workload)
    burst_s = _windows_length(workload)
    series = Series()
    for latency, code in zip(latency_ms.tolist(), codes.tolist()):
        series.add(latency, OUTCOMES[code])
    per_site_requests = np.bincount(session_site[traffic.request_session][session_site[traffic.request_session] >= 0],
                                    minlength=len(topology.sites))
    return {
        "sites": list(spec.sites) if spec.sites is not None else None,
        "sessions": {"placed": int((session_site >= 0).sum()), "rejected": int((session_site < 0).sum())},
        "outcomes": summarize_series(series, _shared_sla(topology)),
        "answered_latency_ms": _percentiles(latency_ms[answered]),
        "goodput_rps": round(float(good.sum()) / duration, 3),
        "utilization": round(float(served.busy_ns.sum()) / NS_PER_S / gpu_seconds, 4) if gpu_seconds else 0.0,
        "cost": {
            "sites_used": int(used.sum()), "gpus_used": int(topology.servers[used].sum()),
            "total": round(provisioned_per_s * duration, 4),
            "per_item": _per(provisioned_per_s * duration, int(good.sum())),
        },
        "burst": None if not burst_s else {
            "requests": int(in_burst.sum()),
            "goodput_rps": round(float(good[in_burst].sum()) / burst_s, 3),
            "miss_rate": round(float((~good[in_burst]).sum()) / max(1, int(in_burst.sum())), 6),
            "answered_latency_ms": _percentiles(latency_ms[in_burst & answered]),
            "cost_per_item": _per(provisioned_per_s * burst_s, int(good[in_burst].sum())),
        },
        "site_load": {
            topology.sites[s].id: {
                "requests": int(per_site_requests[s]),
                "utilization": round(float(served.busy_ns[s]) / NS_PER_S / (int(topology.servers[s]) * duration), 4)
                if topology.servers[s] else 0.0}
            for s in np.flatnonzero(used).tolist()},
        "timeline": _timeline(origin, latency_ms, good, answered, duration),
    }


def _shared_sla(topology: Topology) -> float | None:
    """The SLA of every use case when they share one (the summary's ``deadline_ms``), else None."""
    slas = {u.sla_ms for u in topology.use_cases.values()}
    return slas.pop() if len(slas) == 1 else None


def _percentiles(latency_ms: np.ndarray) -> dict[str, float | None]:
    keys = {"p50": 50.0, "p99": 99.0, "p999": 99.9}
    if not len(latency_ms):
        return {k: None for k in keys}
    return {k: round(float(v), 3) for k, v in zip(keys, np.percentile(latency_ms, list(keys.values())))}


def _per(cost: float, items: int) -> float | None:
    return round(cost / items, 8) if items else None


def _in_windows(origin_ns: np.ndarray, workload: Workload) -> np.ndarray:
    """Which requests were sent during a burst."""
    inside = np.zeros(len(origin_ns), dtype=bool)
    for burst in workload.bursts:
        end_s = min(burst.end_s, workload.duration_s)
        inside |= (origin_ns >= burst.start_s * NS_PER_S) & (origin_ns < end_s * NS_PER_S)
    return inside


def _windows_length(workload: Workload) -> float:
    """Seconds of the run covered by at least one burst."""
    spans = sorted((b.start_s, min(b.end_s, workload.duration_s)) for b in workload.bursts)
    total, reach = 0.0, -math.inf
    for low, high in spans:
        low = max(low, reach)
        if high > low:
            total += high - low
        reach = max(reach, high)
    return total


def _timeline(
    origin_ns: np.ndarray, latency_ms: np.ndarray, good: np.ndarray, answered: np.ndarray, duration_s: float,
) -> dict[str, Any]:
    """Goodput and answered p99 per time bin, by the time each request was sent."""
    bin_s = max(1.0, math.ceil(duration_s / MAX_BINS))
    bins = int(math.ceil(duration_s / bin_s))
    index = np.minimum((origin_ns / (bin_s * NS_PER_S)).astype(np.int64), bins - 1)
    goodput = np.bincount(index[good], minlength=bins) / bin_s
    chosen = index[answered]
    order = np.lexsort((latency_ms[answered], chosen))
    counts = np.bincount(chosen, minlength=bins)
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = first + np.maximum(np.ceil(counts * 0.99).astype(np.int64) - 1, 0)  # nearest-rank p99
    sorted_latency = latency_ms[answered][order]
    p99 = [round(float(sorted_latency[r]), 3) if c else None for r, c in zip(rank.tolist(), counts.tolist())]
    return {"bin_s": bin_s, "goodput_rps": [round(float(g), 3) for g in goodput], "p99_ms": p99}
