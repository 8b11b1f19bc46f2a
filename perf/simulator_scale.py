"""Grid simulator at scale: 1,000 sites and about 1,000,000 requests, every strategy, timed.

    .venv/bin/python perf/simulator_scale.py [--sites 1000] [--requests 1000000] [--seed 1]

Writes a generated topology (sites on a lat/lon grid across five jurisdictions, one big central site,
each viewer region reaching its 16 nearest sites and the central one) and a workload sized to the request
target (about 65% of the grid's GPU capacity, a 3x burst on a tenth of the regions), runs the public
``simulate()`` on them, and prints the wall time of loading, traffic generation and each strategy.
Writes perf/results/simulator_scale.json and .md. Speed lives here, never in tests.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from mediagrid.grid.simulator import simulate

REPO = Path(__file__).resolve().parents[1]
JURISDICTIONS = ("FR", "BE", "DE", "PL", "CZ")
SERVICE_RATE, SLA_MS, REQUESTS_PER_SESSION_S, SESSION_S, DURATION_S, REACH = 10.0, 500, 2.0, 30.0, 60.0, 16


def write_topology(path: Path, sites: int, rng: np.random.Generator) -> float:
    """A topology of ``sites`` sites (the first is the central one); returns its GPU capacity in requests/s."""
    cols = math.ceil(math.sqrt(sites * 1.6))
    lat = 44.0 + 10.0 * (np.arange(sites) // cols) / max(1, sites // cols)
    lon = -2.0 + 24.0 * (np.arange(sites) % cols) / cols
    gpus = rng.integers(1, 5, sites)
    gpus[0] = 64
    lines = [f"sla_ms: {SLA_MS}", "sites:"]
    for i in range(sites):
        where = JURISDICTIONS[min(len(JURISDICTIONS) - 1, int((lon[i] + 2.0) / 24.0 * len(JURISDICTIONS)))]
        lines.append(f"  - {{id: s{i}, location: {{lat: {lat[i]:.3f}, lon: {lon[i]:.3f}}}, jurisdiction: {where}, "
                     f"gpus: {gpus[i]}, service_rate_per_gpu: {SERVICE_RATE}, cost_per_gpu_hour: "
                     f"{2.0 if i == 0 else 2.4}, health: healthy}}")
    lines.append("regions:")
    km = 111.0 * np.hypot(lat[:, None] - lat[None, :], (lon[:, None] - lon[None, :]) * 0.66)
    for r in range(sites):
        near = [int(s) for s in np.argsort(km[r])[:REACH] if s != 0]
        rtt = {f"s{s}": round(2.0 + km[r, s] / 100.0, 2) for s in near}
        rtt["s0"] = round(20.0 + km[r, 0] / 100.0, 2)
        entries = ", ".join(f"{k}: {v}" for k, v in rtt.items())
        lines.append(f"  - {{id: r{r}, jurisdiction: {JURISDICTIONS[0]}, rtt_ms: {{{entries}}}}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return float(gpus.sum() * SERVICE_RATE)


def write_workload(path: Path, regions: int, requests: int, seed: int) -> None:
    per_session = REQUESTS_PER_SESSION_S * SESSION_S
    sessions_per_s = requests / (DURATION_S * per_session)  # steady state: arrivals x mean length x rate
    burst_regions = ", ".join(f"r{r}" for r in range(0, regions, 10))
    path.write_text(
        f"seed: {seed}\nduration_s: {DURATION_S}\nservice_cv: 0.5\n"
        f"sessions: {{arrivals_per_s: {sessions_per_s / regions:.6f}, mean_duration_s: {SESSION_S}, "
        f"requests_per_s: {REQUESTS_PER_SESSION_S}}}\n"
        f"bursts: [{{start_s: 20, duration_s: 20, factor: 3, regions: [{burst_regions}]}}]\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, default=REPO / "perf" / "results")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        capacity = write_topology(folder / "topology.yaml", args.sites, rng)
        write_workload(folder / "workload.yaml", args.sites, args.requests, args.seed)
        started = time.perf_counter()
        summary = simulate(folder / "topology.yaml", folder / "workload.yaml", folder / "out")
        wall = time.perf_counter() - started
    timing = summary["timing_s"]
    result = {
        "benchmark": "simulator_scale", "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sites": summary["sites"], "regions": summary["regions"], "sessions": summary["sessions"],
        "requests": summary["requests"], "offered_load": round(args.requests / DURATION_S / capacity, 3),
        "wall_s": round(wall, 2), "timing_s": timing,
        "strategies": {name: {"goodput_rps": e["goodput_rps"], "miss_rate": e["outcomes"]["miss_rate"],
                              "answered_p99_ms": e["answered_latency_ms"]["p99"]}
                       for name, e in summary["strategies"].items()},
        "loadavg_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}, "cpus": os.cpu_count(),
    }
    lines = [f"simulator: {result['sites']} sites, {result['regions']} regions, {result['sessions']:,} sessions, "
             f"{result['requests']:,} requests (offered load {result['offered_load']:.0%} of GPU capacity) on "
             f"{os.cpu_count()} CPUs (load {result['loadavg_1m']['before']} -> {result['loadavg_1m']['after']})",
             f"  wall {wall:.1f} s: load {timing['load']} s, generate {timing['generate']} s, "
             + ", ".join(f"{n} {timing[n]} s" for n in summary["strategies"])]
    lines += [f"  {name:8s} goodput {s['goodput_rps']:>9,.0f} req/s  miss rate {s['miss_rate']:.4f}  "
              f"answered p99 {s['answered_p99_ms']} ms" for name, s in result["strategies"].items()]
    print("\n".join(lines))
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "simulator_scale.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    markdown = "# perf/simulator_scale.py\n\n```\n" + "\n".join(lines) + "\n```\n"
    (args.results / "simulator_scale.md").write_text(markdown, encoding="utf-8")


if __name__ == "__main__":
    main()
