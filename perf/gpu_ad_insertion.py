"""How many concurrent 1080p60 ad insertion streams one GPU sustains at <= 0.1% misses.

    python3 perf/gpu_ad_insertion.py [--seconds 8] [--budget-s S] [--sink auto|nvenc|x264|null] [--results DIR]

``--budget-s`` defaults to perf/gpu_check.sh's per-benchmark limit (MG_GPU_BENCH_S, 90 s) less 10 s; each
level costs its run (``--seconds``) plus a few seconds of process start, and no level starts that would end
after the budget by the last level's wall time.

Each stream is one `mediagrid run` of configs/ad_insertion_gpu.yaml (its own process, CUDA context and codec
sessions, as separate channels would run on a node): NVDEC decode of a generated 1080p60 H.264 clip into
device memory (pynvvideocodec, DLPack into cupy, no host copy), the cupy compositor with breaks on screen most
of the time, and NVENC encode to a file. The script raises the number of streams run side by side (1, 2, 4,
8, 16, then +8) until a level misses more than 0.1% of its frames or the time budget runs out, and reports the
largest level that held. The first second of every stream (process start, first kernels, encoder start) is
counted separately from the steady state that the verdict uses.

Capabilities are probed first, each in a child process because pynvvideocodec can end a process without a
Python exception: H100 and H200 have NVDEC engines but no NVENC, so ``--sink auto`` then runs without an
encoder and says so (``--sink x264`` encodes on the CPU instead). Without a usable GPU the script prints why
and exits 0. Prints one ``RESULT`` line for perf/gpu_check.sh and writes gpu_ad_insertion.json/.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("HOLOSCAN_LOG_LEVEL", "ERROR")

REPO = Path(__file__).resolve().parents[1]
MISS_GOAL = 0.001
WARMUP_MS = 1000.0
LEVELS = (1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64)

PROBE_NVC = """
import PyNvVideoCodec as nvc
print("import ok")
"""
PROBE_NVDEC = """
import sys, cupy
from pathlib import Path
from mediagrid.media.codecs import NvDecReader
import PyNvVideoCodec as nvc
from mediagrid.runtime import select_backend
reader = NvDecReader(Path(sys.argv[1]), nvc, select_backend("gpu"))
frame = reader.read()
print("decoded", frame.shape, type(frame).__module__)
"""
PROBE_NVENC = """
import PyNvVideoCodec as nvc
enc = nvc.CreateEncoder(256, 144, "ABGR", False, codec="h264", preset="P1", tuning_info="ultra_low_latency",
                        fps=60, gop=60, bf=0, gpu_id=0)
print("encoder ok", len(enc.GetSequenceParams()))
"""


def _probe(code: str, *args: str, timeout: float = 60) -> tuple[bool, str]:
    """Run ``code`` in a child process: (succeeded, its last output line or why it failed)."""
    try:
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"no answer in {timeout:g} s"
    lines = (done.stdout + done.stderr).strip().splitlines()
    last = lines[-1] if lines else f"exit {done.returncode}, no output"
    return done.returncode == 0, last[:300]


def _config(tmp: Path, clip: Path | None, creatives: dict[str, Path], sink: str, seconds: float) -> Path:
    """The GPU config with this run's media: creatives and schedule in ``tmp``, the clip (or test bars)."""
    from mediagrid.config.yaml_loader import load_document  # noqa: PLC0415

    base = load_document(REPO / "configs" / "ad_insertion_gpu.yaml").data  # as written; validated when run
    schedule = tmp / "schedule.yaml"
    breaks, start, n = [], 0.5, 0
    while start < seconds + 5:
        lower = n % 2 == 0
        breaks.append({"break_id": f"gpu-{n}", "creative_id": "sportswear-boots-01" if lower else "energy-drink-02",
                       "start_pts_s": start, "duration_s": 5.0 if lower else 3.0,
                       "slot": {"x": 0.05, "y": 0.8, "w": 0.9, "h": 0.12} if lower else
                       {"x": 0.72, "y": 0.05, "w": 0.23, "h": 0.18}})
        start, n = start + breaks[-1]["duration_s"] + 1.0, n + 1
    schedule.write_text(json.dumps({"breaks": breaks}))  # JSON is YAML
    own = base["ad_insertion"]
    own["schedule"] = str(schedule)
    own["creatives"] = [
        {"id": "sportswear-boots-01", "path": str(creatives["sportswear-boots"])},
        {"id": "energy-drink-02", "path": str(creatives["energy-drink"]),
         "variants": {"dark": str(creatives["energy-drink-night"])}},
        {"id": "telco-5g-03", "path": str(creatives["telco-5g"])},
    ]
    if clip is not None:
        base["source"] = {"kind": "file", "path": str(clip), "fps": 60, "loop": True}
    base["sink"] = ({"kind": "null"} if sink == "null" else
                    {"kind": "file", "path": str(tmp / "out.mp4"), "codec": "h264",
                     "preset": "p1" if sink == "nvenc" else "ultrafast"})
    path = tmp / "ad_insertion_gpu.yaml"
    path.write_text(json.dumps(base))
    return path


def _stream_outcome(run_dir: Path) -> dict[str, Any]:
    """Steady-state and start-up misses of one stream, from its per-frame events."""
    summary = json.loads((run_dir / "summary.json").read_text())
    steady = {"frames": 0, "late": 0}
    warm = {"frames": 0, "late": 0}
    latencies = []
    for line in (run_dir / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        bucket = warm if event["t_ms"] < WARMUP_MS else steady
        bucket["frames"] += 1
        bucket["late"] += event["outcome"] in ("missed", "dropped")
        if bucket is steady and event["outcome"] != "dropped":
            latencies.append(event["latency_ms"])
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None
    return {"steady": steady, "warmup": warm, "p99_ms": p99, "error": summary.get("error"),
            "device": summary["device"]}


def _level(n: int, config: Path, sink: str, seconds: float, tmp: Path) -> dict[str, Any]:
    """Run ``n`` streams side by side; the level holds if every stream's steady-state miss rate is in goal."""
    started = time.monotonic()
    env = {**os.environ, "HOLOSCAN_LOG_LEVEL": "ERROR"}
    runs = [tmp / f"n{n}" / f"s{i}" for i in range(n)]
    procs = [subprocess.Popen([sys.executable, "-m", "mediagrid.cli", "run", str(config), "--duration", str(seconds),
                               "--out", str(run), "--no-progress", "--set", f"node.id=edge-gpu-{i}"]
                              + ([] if sink == "null" else ["--set", f"sink.path={run / 'out.mp4'}"]),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i, run in enumerate(runs)]
    failures = []
    for proc, run in zip(procs, runs, strict=True):
        try:
            _, stderr = proc.communicate(timeout=seconds + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            stderr = "timed out"
        if proc.returncode != 0:
            failures.append(f"{run.name}: exit {proc.returncode}: {stderr.strip().splitlines()[-1:] or ''}")
    outcomes = [_stream_outcome(run) for run in runs if (run / "events.jsonl").exists()]
    rates = [o["steady"]["late"] / max(o["steady"]["frames"], 1) for o in outcomes]
    frames = sum(o["steady"]["frames"] for o in outcomes)
    return {
        "streams": n, "failures": failures, "frames": frames,
        "worst_miss_rate": round(max(rates, default=1.0), 6),
        "miss_rate": round(sum(o["steady"]["late"] for o in outcomes) / max(frames, 1), 6),
        "warmup_late": sum(o["warmup"]["late"] for o in outcomes),
        "worst_p99_ms": max((o["p99_ms"] for o in outcomes if o["p99_ms"] is not None), default=None),
        "held": not failures and len(outcomes) == n and max(rates, default=1.0) <= MISS_GOAL,
        "wall_s": round(time.monotonic() - started, 1),
    }


def _write(result: dict[str, Any], results: Path) -> str:
    """Write the JSON and Markdown results (after every level, so a run cut short still leaves them)."""
    levels = result.get("levels", [])
    best = max((lv["streams"] for lv in levels if lv["held"]), default=0)
    result["streams_at_goal"] = best
    last = levels[-1] if levels else None
    limit = ("no level ran" if last is None else "time budget" if last["held"] else
             f"{last['streams']} streams missed {last['worst_miss_rate']:.3%}")
    encode = {"nvenc": "NVENC encode", "x264": "x264 encode on the CPU", "null": "no encode (no NVENC here)"}
    line = (f"{best} x 1080p60 streams at <= 0.1% misses (NVDEC decode, cupy composite, "
            f"{encode[result['sink']]}); stopped by: {limit}")
    results.mkdir(parents=True, exist_ok=True)
    (results / "gpu_ad_insertion.json").write_text(json.dumps(result, indent=2) + "\n")
    table = "\n".join(f"{lv['streams']:>3} streams: worst miss {lv['worst_miss_rate']:.4%}, all {lv['miss_rate']:.4%}, "
                      f"p99 {lv['worst_p99_ms']} ms, start-up late {lv['warmup_late']}, {lv['wall_s']} s, "
                      f"{'held' if lv['held'] else 'FAILED ' + '; '.join(lv['failures'])}" for lv in levels)
    (results / "gpu_ad_insertion.md").write_text(
        f"# perf/gpu_ad_insertion.py\n\n{line}\n\nprobes: {json.dumps(result['probes'])}\n\n```\n{table}\n```\n")
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each level's run")
    parser.add_argument("--budget-s", type=float, default=float(os.environ.get("MG_GPU_BENCH_S", 90)) - 10,
                        help="start no level that would, by the last one's wall time, end after this many seconds")
    parser.add_argument("--sink", choices=("auto", "nvenc", "x264", "null"), default="auto")
    parser.add_argument("--max-streams", type=int, default=LEVELS[-1])
    parser.add_argument("--results", type=Path, default=REPO / "perf" / "results")
    args = parser.parse_args()
    started = time.monotonic()

    from mediagrid.runtime import gpu_available  # noqa: PLC0415 - imports cupy

    if not gpu_available():
        print("gpu_ad_insertion: no usable CUDA device here; nothing to measure (run it on a GPU node)")
        print("RESULT skipped: no GPU")
        return 0
    result: dict[str, Any] = {"benchmark": "gpu_ad_insertion", "device": "gpu", "frame": "1920x1080@60",
                              "seconds": args.seconds, "miss_goal": MISS_GOAL,
                              "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    ok_nvc, why_nvc = _probe(PROBE_NVC)
    ok_nvenc, why_nvenc = _probe(PROBE_NVENC) if ok_nvc else (False, why_nvc)
    result["probes"] = {"pynvvideocodec": why_nvc, "nvenc": why_nvenc}
    from mediagrid.media.clips import make_clip, make_creatives  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            clip = make_clip(tmp / "match-1080p60.mp4", seconds=args.seconds + 2, width=1920, height=1080, fps=60)
        except ImportError as exc:  # PyAV missing: test bars instead of decoding
            clip, result["probes"]["clip"] = None, f"no PyAV ({exc}): synthetic source, no NVDEC"
        if clip is not None and ok_nvc:
            result["probes"]["nvdec"] = _probe(PROBE_NVDEC, str(clip))[1]
        sink = args.sink if args.sink != "auto" else ("nvenc" if ok_nvenc else "null")
        result["sink"] = sink
        config = _config(tmp, clip, make_creatives(tmp / "creatives"), sink, args.seconds)
        print(f"probes: {json.dumps(result['probes'])}; sink {sink}", flush=True)
        result["levels"] = levels = []
        for n in (n for n in LEVELS if n <= args.max_streams):
            expected_s = 1.5 * levels[-1]["wall_s"] if levels else args.seconds + 30
            if time.monotonic() - started + expected_s > args.budget_s:
                break
            level = _level(n, config, sink, args.seconds, tmp)
            levels.append(level)
            print(json.dumps(level), flush=True)
            _write(result, args.results)
            if not level["held"]:
                break
    print(f"RESULT {_write(result, args.results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
