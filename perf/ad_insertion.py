"""Ad insertion on this machine's CPUs: decode -> composite -> encode at 720p60 and 1080p60, the compositor alone,
and the colour conversions the codecs use (PyAV/swscale against OpenCV).

    .venv/bin/python perf/ad_insertion.py [--seconds 60] [--only compositor,convert,720p,1080p] [--results DIR]

Each end-to-end run plays a generated football clip (H.264, x264 veryfast, as long as the run, so no loop
restart interferes) through `configs/ad_insertion.yaml` in real time: decode (PyAV, frame threads) + OpenCV
colour conversion, the deadline gate, scene sampling, the compositor (breaks on screen most of the time,
alternating a full-width lower third and a corner slot) and x264 ultrafast/zerolatency encode to a file.
Prints end-to-end latency p50/p99/p99.9 and the miss rate ((missed + dropped) / frames, 16.7 ms deadline),
and writes perf/results/ad_insertion.json and .md. Speed lives here, never in tests: the machine is shared and
noisy, so every section carries the load average it ran under.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HOLOSCAN_LOG_LEVEL", "ERROR")

from mediagrid.config import load_app_config  # noqa: E402
from mediagrid.media.clips import CreativeSpec, creative_image, make_clip  # noqa: E402
from mediagrid.ads.plan import Slot  # noqa: E402
from mediagrid.media.compositor import blend, prepare  # noqa: E402
from mediagrid.runner import run_app  # noqa: E402
from mediagrid.runtime import select_backend  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
LOWER_THIRD, CORNER = Slot(0.05, 0.80, 0.90, 0.12), Slot(0.72, 0.05, 0.23, 0.18)


def _percentiles(samples_ms: list[float] | np.ndarray) -> dict[str, float]:
    values = np.asarray(samples_ms)
    return {"p50_ms": round(float(np.percentile(values, 50)), 4), "p99_ms": round(float(np.percentile(values, 99)), 4),
            "p999_ms": round(float(np.percentile(values, 99.9)), 4), "max_ms": round(float(values.max()), 4)}


def _timed(fn: Callable[[], Any], iterations: int) -> dict[str, float]:
    samples = []
    for _ in range(iterations):
        started = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return _percentiles(samples)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def compositor(iterations: int) -> dict[str, Any]:
    """The blend alone on a 1080p frame, creatives shaped like their slots (the most pixels a slot can cost)."""
    backend = select_backend("cpu")
    frame = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    result: dict[str, Any] = {"load_before": _load()}
    for name, slot in (("lower_third", LOWER_THIRD), ("corner", CORNER)):
        rect = slot.pixels(1920, 1080)
        overlay = prepare(creative_image(CreativeSpec(name, rect[2], rect[3], "PERF", (200, 30, 40), (255, 210, 0))),
                          rect, backend)
        result[name] = {"region": f"{overlay.rect[2]}x{overlay.rect[3]}",
                        **_timed(lambda overlay=overlay: blend(frame, overlay), iterations)}
    result["load_after"] = _load()
    return result


def conversions(clip: Path, frames: int) -> dict[str, Any]:
    """Per 1080p frame: decoded yuv420p to RGB through swscale vs the planes + OpenCV, and RGB to yuv420p
    likewise. Both ways run on the same frame one after the other, so a burst of load hits both alike."""
    import av
    import cv2

    rgb_out = np.empty((1080, 1920, 3), np.uint8)
    i420 = np.empty((1620, 1920), np.uint8)
    ways: dict[str, Callable[[Any], Any]] = {
        "decode_to_rgb_pyav_swscale": lambda f: f.to_ndarray(format="rgb24"),
        "decode_to_rgb_opencv": lambda f: cv2.cvtColor(f.to_ndarray(), cv2.COLOR_YUV2RGB_I420, dst=rgb_out),
        "rgb_to_yuv420p_pyav_reformat": lambda f: av.VideoFrame.from_ndarray(rgb_out, format="rgb24").reformat(
            format="yuv420p"),
        "rgb_to_yuv420p_opencv": lambda f: av.VideoFrame.from_ndarray(
            cv2.cvtColor(rgb_out, cv2.COLOR_RGB2YUV_I420, dst=i420), format="yuv420p"),
    }
    samples: dict[str, list[float]] = {name: [] for name in ways}
    load_before = _load()
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame, _ in zip(container.decode(stream), range(frames), strict=False):  # the first `frames`
            for name, convert in ways.items():
                started = time.perf_counter_ns()
                convert(frame)
                samples[name].append((time.perf_counter_ns() - started) / 1e6)
    return {"load_before": load_before, **{name: _percentiles(v) for name, v in samples.items()},
            "load_after": _load()}


def _schedule(path: Path, seconds: float) -> Path:
    """Breaks from 0.5 s to the end: a 5 s lower third, 1 s clean, a 3 s corner, 1 s clean, and again."""
    lines, start, n = ["breaks:"], 0.5, 0
    while start < seconds:
        slot, duration = (LOWER_THIRD, 5.0) if n % 2 == 0 else (CORNER, 3.0)
        creative = "sportswear-boots-01" if n % 2 == 0 else "energy-drink-02"
        lines.append(f"  - {{break_id: perf-{n}, creative_id: {creative}, start_pts_s: {start}, duration_s: "
                     f"{duration}, slot: {{x: {slot.x}, y: {slot.y}, w: {slot.w}, h: {slot.h}}}}}")
        start, n = start + duration + 1.0, n + 1
    path.write_text("\n".join(lines) + "\n")
    return path


def _config(label: str, clip: Path, seconds: float, tmp: Path, pacing: str) -> Any:
    return load_app_config(REPO / "configs" / "ad_insertion.yaml", [
        "source.kind=file", f"source.path={clip}", "source.fps=60", "source.loop=false",
        "sink.kind=file", f"sink.path={tmp / f'{label}-out.mp4'}", f"ad_insertion.pacing={pacing}",
        f"ad_insertion.schedule={_schedule(tmp / f'{label}.yaml', seconds)}"])


def end_to_end(label: str, seconds: float, tmp: Path) -> dict[str, Any]:
    """The real-time run, then the same clip free running: frames per second and CPU time per frame (all
    threads), which say what the pipeline needs from the machine whatever else runs on it."""
    width, height = SIZES[label]
    started = time.monotonic()
    clip = make_clip(tmp / f"{label}.mp4", seconds=seconds + 2, width=width, height=height, fps=60)
    made_s = time.monotonic() - started
    load_before = _load()
    run_dir = tmp / f"run-{label}"
    summary = run_app(_config(label, clip, seconds, tmp, "realtime"), out_dir=run_dir, duration_s=seconds,
                      device="cpu", show_progress=False)
    stats = json.loads((run_dir / "ad_insertion.json").read_text())
    load_after = _load()
    cpu_started, wall_started = time.process_time(), time.monotonic()
    free = run_app(_config(label, clip, seconds, tmp, "throughput"), out_dir=tmp / f"free-{label}",
                   duration_s=seconds, device="cpu", show_progress=False)
    frames_free = free["end_to_end"]["count"]
    cpu_ms = (time.process_time() - cpu_started) * 1000 / max(frames_free, 1)
    e2e = summary["end_to_end"]
    return {
        "frame": f"{width}x{height}@60", "seconds": seconds, "clip_made_s": round(made_s, 1),
        "frames": e2e["count"], "miss_rate": e2e["miss_rate"],
        "outcomes": {k: e2e[k] for k in ("met", "degraded", "dropped", "missed")},
        "latency_ms": {k: e2e[k] for k in ("p50_ms", "p99_ms", "p999_ms", "max_ms")},
        "stages_p50_p99_ms": {name: [s["p50_ms"], s["p99_ms"]] for name, s in summary["stages"].items()},
        "composited_frames": stats["frames"]["composited"],
        "load_before": load_before, "load_after": load_after,
        "free_running": {"fps": round(frames_free / (time.monotonic() - wall_started), 1),
                         "cpu_ms_per_frame": round(cpu_ms, 2),
                         "cores_needed_at_60fps": round(cpu_ms * 60 / 1000, 2), "load_after": _load()},
    }


def _lines(result: dict[str, Any]) -> list[str]:
    lines = [f"ad_insertion on {result['cpus']} CPUs, {result['seconds']:g} s per end-to-end run ({result['when']})"]
    for label in SIZES:
        if label in result:
            r = result[label]
            lat, stages = r["latency_ms"], r["stages_p50_p99_ms"]
            lines += [
                f"{label}60 decode->composite->encode: {r['frames']} frames, miss rate {r['miss_rate']:.4%} "
                f"({r['outcomes']}), composited {r['composited_frames']}, load {r['load_before']} -> {r['load_after']}",
                f"  latency  p50 {lat['p50_ms']:.2f} ms  p99 {lat['p99_ms']:.2f} ms  p99.9 {lat['p999_ms']:.2f} ms  "
                f"max {lat['max_ms']:.2f} ms",
                "  stages p50/p99 ms: " + ", ".join(f"{k} {v[0]:.2f}/{v[1]:.2f}" for k, v in stages.items()),
                f"  free running: {r['free_running']['fps']} fps, {r['free_running']['cpu_ms_per_frame']} ms CPU "
                f"per frame = {r['free_running']['cores_needed_at_60fps']} cores at 60 fps "
                f"(load after {r['free_running']['load_after']})",
            ]
    if "compositor" in result:
        c = result["compositor"]
        for name in ("lower_third", "corner"):
            lines.append(f"compositor alone, 1080p {name} {c[name]['region']}: p50 {c[name]['p50_ms']:.3f} ms  "
                         f"p99 {c[name]['p99_ms']:.3f} ms  p99.9 {c[name]['p999_ms']:.3f} ms "
                         f"(load {c['load_before']} -> {c['load_after']})")
    if "convert" in result:
        v = result["convert"]
        for key in ("decode_to_rgb_pyav_swscale", "decode_to_rgb_opencv", "rgb_to_yuv420p_pyav_reformat",
                    "rgb_to_yuv420p_opencv"):
            lines.append(f"1080p {key}: p50 {v[key]['p50_ms']:.2f} ms  p99 {v[key]['p99_ms']:.2f} ms")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each end-to-end run")
    parser.add_argument("--only", default="compositor,convert,720p,1080p",
                        help="comma-separated sections: compositor, convert, 720p, 1080p")
    parser.add_argument("--results", type=Path, default=REPO / "perf" / "results")
    args = parser.parse_args()
    sections = set(args.only.split(","))
    result: dict[str, Any] = {"benchmark": "ad_insertion", "device": "cpu", "cpus": os.cpu_count(),
                              "seconds": args.seconds,
                              "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory() as tmp:
        if "compositor" in sections:
            result["compositor"] = compositor(iterations=max(round(args.seconds * 60), 2000))
        if "convert" in sections:
            clip = make_clip(Path(tmp) / "convert.mp4", seconds=4, width=1920, height=1080, fps=60)
            result["convert"] = conversions(clip, frames=240)
        for label in SIZES:
            if label in sections:
                result[label] = end_to_end(label, args.seconds, Path(tmp))
    lines = _lines(result)
    print("\n".join(lines))
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "ad_insertion.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.results / "ad_insertion.md").write_text("# perf/ad_insertion.py\n\n```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
