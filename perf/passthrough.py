"""Passthrough frame latency and pacing jitter at 60 fps, 1080p, on this machine.

    .venv/bin/python perf/passthrough.py [--duration 30] [--width 1920 --height 1080 --fps 60]

Prints end-to-end latency p50/p99/p99.9, the source's tick jitter (time from a frame's grid tick to its
emission) and the miss rate, and writes perf/results/passthrough.json and .md. Speed lives here, never in
tests: the machine is shared and noisy, so each line also carries the load average it ran under.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

os.environ.setdefault("HOLOSCAN_LOG_LEVEL", "ERROR")

from mediagrid.config import load_app_config  # noqa: E402
from mediagrid.runner import run_app  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--fps", type=float, default=60.0)
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--results", type=Path, default=REPO / "perf" / "results")
    args = parser.parse_args()

    config = load_app_config(REPO / "configs" / "passthrough.yaml", [
        f"source.width={args.width}", f"source.height={args.height}", f"source.fps={args.fps}",
        'sink.kind="null"'])
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        summary = run_app(config, out_dir=Path(tmp), duration_s=args.duration, device=args.device,
                          show_progress=False)
        events = [json.loads(line) for line in (Path(tmp) / "events.jsonl").read_text().splitlines()]
    jitter = np.array([e["stages"]["source"] for e in events if "source" in e["stages"] and e["outcome"] != "dropped"])
    e2e = summary["end_to_end"]
    result = {
        "benchmark": "passthrough", "device": summary["device"], "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "frame": f"{args.width}x{args.height}@{args.fps:g}", "duration_s": args.duration,
        "frames": e2e["count"], "miss_rate": e2e["miss_rate"],
        "latency_ms": {k: e2e[k] for k in ("p50_ms", "p99_ms", "p999_ms", "max_ms")},
        "jitter_ms": {"p50": round(float(np.percentile(jitter, 50)), 4),
                      "p99": round(float(np.percentile(jitter, 99)), 4),
                      "max": round(float(jitter.max()), 4)},
        "stages_p99_ms": {name: s["p99_ms"] for name, s in summary["stages"].items()},
        "loadavg_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "cpus": os.cpu_count(),
    }
    lines = [
        f"passthrough {result['frame']} on {summary['device']} for {args.duration:g} s, {os.cpu_count()} CPUs "
        f"(load {result['loadavg_1m']['before']} -> {result['loadavg_1m']['after']})",
        f"  frames {e2e['count']}, miss rate {e2e['miss_rate']:.4%} (deadline {e2e['deadline_ms']} ms)",
        f"  latency  p50 {e2e['p50_ms']:.3f} ms  p99 {e2e['p99_ms']:.3f} ms  p99.9 {e2e['p999_ms']:.3f} ms  "
        f"max {e2e['max_ms']:.3f} ms",
        f"  jitter   p50 {result['jitter_ms']['p50']:.3f} ms  p99 {result['jitter_ms']['p99']:.3f} ms  "
        f"max {result['jitter_ms']['max']:.3f} ms",
        "  stage p99: " + ", ".join(f"{k} {v:.3f} ms" for k, v in result["stages_p99_ms"].items()),
    ]
    print("\n".join(lines))
    print(f"RESULT passthrough_{args.device} frame p99 {e2e['p99_ms']:.3f} ms, miss rate {e2e['miss_rate']:.4%}")
    args.results.mkdir(parents=True, exist_ok=True)
    name = "passthrough" if args.device == "cpu" else "passthrough_gpu"
    (args.results / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.results / f"{name}.md").write_text("# perf/passthrough.py\n\n```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
