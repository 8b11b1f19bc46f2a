"""Node scheduler under overload: EDF with admission control against a FIFO queue, on a virtual clock.

    .venv/bin/python perf/scheduler_overload.py [--seconds 60] [--loads 1.5 2.0] [--policy drop]

One server (a stage worker) with lognormal service times (mean 1 ms, cv 0.3: capacity 1,000 items/s),
Poisson arrivals at each offered load, two kinds of item in equal shares: 10 ms and 40 ms budgets. Both
schedulers see the same arrivals and service times. EDF learns its p99 service estimate online
(ServiceTimeEstimator) and refuses, at the door, items that its estimate says cannot make their deadline;
FIFO serves everything in arrival order. Nothing sleeps: time is simulated.

Prints goodput (items finished within their deadline per second) as a share of capacity, the miss rate
of admitted items (late or shed after admission), the share refused, and the p99 latency of served items;
then the per-item wall cost of the estimator and of the queue on this machine. Writes
perf/results/scheduler_overload.json and .md. Speed lives here, never in tests.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mediagrid.scheduler import Deadline, EDFQueue, Outcome, Policy, ServiceTimeEstimator, classify

REPO = Path(__file__).resolve().parents[1]
MEAN_SERVICE_NS, SERVICE_CV, BUDGETS_MS = 1_000_000, 0.3, (10, 40)


def workload(load: float, seconds: float, seed: int) -> tuple[list[int], list[int], list[int]]:
    """Arrival times, deadlines and actual service times (ns) of every item."""
    rng = np.random.default_rng(seed)
    rate = load * 1e9 / MEAN_SERVICE_NS
    count = rng.poisson(rate * seconds)
    arrivals = np.sort(rng.random(count) * seconds * 1e9).astype(np.int64)
    budgets = rng.choice(np.array(BUDGETS_MS) * 1_000_000, count)
    sigma = np.sqrt(np.log(1 + SERVICE_CV**2))
    service = rng.lognormal(np.log(MEAN_SERVICE_NS) - sigma**2 / 2, sigma, count).astype(np.int64)
    return arrivals.tolist(), (arrivals + budgets).tolist(), service.tolist()


def run_edf(arrivals: list[int], deadlines: list[int], service: list[int], policy: Policy) -> dict[str, Any]:
    queue: EDFQueue[int] = EDFQueue(policy)
    estimator = ServiceTimeEstimator(prior_ns=MEAN_SERVICE_NS)
    outcomes: list[Outcome] = []
    latencies: list[int] = []
    admitted = 0
    free_at = 0

    def serve(at: int) -> None:
        nonlocal free_at
        job = queue.pop(at)
        if job is None:
            return
        took = service[job.item] if not job.degraded else max(1, service[job.item] // 4)
        free_at = at + took
        estimator.update(took)
        outcomes.append(classify(free_at, job.deadline, degraded=job.degraded))
        latencies.append(free_at - job.deadline.origin_ns)

    for item, (at, due) in enumerate(zip(arrivals, deadlines)):
        while len(queue) and free_at <= at:
            serve(free_at)
        estimate = estimator.estimate_ns()
        answer = queue.offer(item, Deadline(at, due), estimate, at, degraded_estimate_ns=estimate // 4)
        admitted += answer.admitted
        if free_at <= at:
            serve(at)
    while len(queue):
        serve(free_at)
    shed = sum(1 for s in queue.take_shed())
    refused = len(arrivals) - admitted
    late = sum(o is Outcome.MISSED for o in outcomes)
    return _result(arrivals, outcomes, latencies, admitted=admitted, refused=refused,
                   admitted_failures=late + shed)


def run_fifo(arrivals: list[int], deadlines: list[int], service: list[int]) -> dict[str, Any]:
    queue: deque[int] = deque()
    outcomes: list[Outcome] = []
    latencies: list[int] = []
    free_at = 0

    def serve(at: int) -> None:
        nonlocal free_at
        item = queue.popleft()
        free_at = at + service[item]
        outcomes.append(classify(free_at, Deadline(arrivals[item], deadlines[item])))
        latencies.append(free_at - arrivals[item])

    for item, at in enumerate(arrivals):
        while queue and free_at <= at:
            serve(free_at)
        queue.append(item)
        if free_at <= at:
            serve(at)
    while queue:
        serve(free_at)
    late = sum(o is Outcome.MISSED for o in outcomes)
    return _result(arrivals, outcomes, latencies, admitted=len(arrivals), refused=0, admitted_failures=late)


def _result(arrivals: list[int], outcomes: list[Outcome], latencies: list[int], *, admitted: int, refused: int,
            admitted_failures: int) -> dict[str, Any]:
    seconds = arrivals[-1] / 1e9
    good = sum(o in (Outcome.MET, Outcome.DEGRADED) for o in outcomes)
    capacity = 1e9 / MEAN_SERVICE_NS
    return {
        "offered": len(arrivals), "admitted": admitted, "refused": refused, "served": len(outcomes),
        "goodput_per_s": round(good / seconds, 1), "goodput_of_capacity": round(good / seconds / capacity, 4),
        "admitted_miss_rate": round(admitted_failures / admitted, 5) if admitted else None,
        "refused_share": round(refused / len(arrivals), 4),
        "served_p99_ms": round(float(np.percentile(latencies, 99)) / 1e6, 3),
        "degraded": sum(o is Outcome.DEGRADED for o in outcomes),
    }


def hot_path_costs(seed: int) -> dict[str, float]:
    """Wall nanoseconds per call on this machine (noisy: shared CPUs) of the per-item operations."""
    samples = np.random.default_rng(seed).integers(500_000, 2_000_000, 200_000).tolist()
    estimator = ServiceTimeEstimator()
    started = time.perf_counter_ns()
    for value in samples:
        estimator.update(value)
    update = (time.perf_counter_ns() - started) / len(samples)
    started = time.perf_counter_ns()
    for value in samples:
        estimator.update(value)
        estimator.estimate_ns()
    update_and_estimate = (time.perf_counter_ns() - started) / len(samples)
    queue: EDFQueue[int] = EDFQueue()
    for i in range(32):  # a standing backlog of 32 items, as under overload with admission
        queue.offer(i, Deadline(0, 10**12), 1000, 0)
    started = time.perf_counter_ns()
    for i in range(len(samples)):
        queue.offer(i, Deadline(i, 10**12 + i), 1000, i)
        queue.pop(i)
    offer_pop = (time.perf_counter_ns() - started) / len(samples)
    return {"estimator_update_ns": round(update), "estimator_update_and_estimate_ns": round(update_and_estimate),
            "edf_offer_and_pop_ns": round(offer_pop)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="simulated seconds per load")
    parser.add_argument("--loads", type=float, nargs="+", default=[1.5, 2.0])
    parser.add_argument("--policy", choices=[p.value for p in Policy], default="drop")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, default=REPO / "perf" / "results")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = []
    for load in args.loads:
        arrivals, deadlines, service = workload(load, args.seconds, args.seed)
        rows.append({"load": load, "scheduler": "edf+admission",
                     **run_edf(arrivals, deadlines, service, Policy(args.policy))})
        rows.append({"load": load, "scheduler": "fifo", **run_fifo(arrivals, deadlines, service)})
    costs = hot_path_costs(args.seed)
    result = {
        "benchmark": "scheduler_overload", "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "service": {"mean_ms": MEAN_SERVICE_NS / 1e6, "cv": SERVICE_CV}, "budgets_ms": list(BUDGETS_MS),
        "policy": args.policy, "simulated_s": args.seconds, "rows": rows, "hot_path_ns": costs,
        "loadavg_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}, "cpus": os.cpu_count(),
    }
    lines = [f"one server, service mean {MEAN_SERVICE_NS / 1e6:g} ms cv {SERVICE_CV} (capacity 1,000/s), budgets "
             f"{' and '.join(map(str, BUDGETS_MS))} ms, policy {args.policy}, {args.seconds:g} s simulated per load",
             f"{'load':>5} {'scheduler':<14} {'goodput/cap':>11} {'admitted miss':>13} {'refused':>8} "
             f"{'served p99':>11}"]
    for row in rows:
        miss = f"{row['admitted_miss_rate']:.3%}" if row["admitted_miss_rate"] is not None else "-"
        lines.append(f"{row['load']:>4g}x {row['scheduler']:<14} {row['goodput_of_capacity']:>11.1%} {miss:>13} "
                     f"{row['refused_share']:>8.1%} {row['served_p99_ms']:>8.1f} ms")
    lines.append(f"hot path on {os.cpu_count()} CPUs (load {result['loadavg_1m']['before']}): estimator update "
                 f"{costs['estimator_update_ns']} ns, update+estimate {costs['estimator_update_and_estimate_ns']} ns, "
                 f"EDF offer + pop {costs['edf_offer_and_pop_ns']} ns")
    print("\n".join(lines))
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "scheduler_overload.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.results / "scheduler_overload.md").write_text(
        "# perf/scheduler_overload.py\n\n```\n" + "\n".join(lines) + "\n```\n", encoding="utf-8")


if __name__ == "__main__":
    main()
