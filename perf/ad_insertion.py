"""Ad insertion on this machine's CPUs: the GStreamer peer and mediagrid free running on the same clip, decode ->
composite -> encode in real time at 720p60 and 1080p60, the compositor alone, and x264's threading.

    make perf-setup   # once: the peer (GStreamer) besides the project's own setup
    .venv/bin/python perf/ad_insertion.py [--seconds 60] [--only compositor,encode,peer,720p,1080p] [--results DIR]

``peer``: what a broadcast engineer would build instead (perf/peers/gst_ad_insertion.sh: decode -> compositor
with an RGBA PNG -> I420 -> x264 ultrafast/zerolatency -> MP4) and mediagrid's ad insertion app, free running
(``ad_insertion.pacing=throughput``) on the same 600-frame clip with the same creative at the same place, one
after the other, twice; prints frames per second of each, the ratio, and checks both outputs with ffprobe (frame
count, codec, colour metadata). GStreamer is timed as a whole process (its start-up is a small part of it);
mediagrid as a whole process too (``mediagrid run``, a Python interpreter importing Holoscan) and, the figure
the ratio uses, as the graph's own frame rate: first frame to last frame done, from events.jsonl.

The real-time runs play a generated football clip (H.264, as long as the run, so no loop restart interferes)
through `configs/ad_insertion.yaml`: decode (PyAV, frame threads) into 4:2:0 frames, the deadline gate, scene
sampling, the compositor in YUV (breaks on screen most of the time, alternating a full-width lower third and a
corner slot) and x264 ultrafast/zerolatency from the same planes. Prints end-to-end latency p50/p99/p99.9, the
miss rate ((missed + dropped) / frames, 16.7 ms deadline), CPU per frame, and writes perf/results/ad_insertion.json
and .md. Speed lives here, never in tests: the machine is shared and noisy, so every section carries the load
average it ran under.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HOLOSCAN_LOG_LEVEL", "ERROR")

from mediagrid.config import load_app_config  # noqa: E402
from mediagrid.media.clips import CreativeSpec, creative_image, make_clip, write_rgba_png  # noqa: E402
from mediagrid.ads.plan import Slot  # noqa: E402
from mediagrid.media.compositor import Canvas, blend, prepare  # noqa: E402
from mediagrid.media.yuv import Colour, empty  # noqa: E402
from mediagrid.runner import run_app  # noqa: E402
from mediagrid.runtime import select_backend  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PEER = REPO / "perf" / "peers" / "gst_ad_insertion.sh"
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
PEER_FRAMES = 600
PEER_CLIPS = ("testsrc2", "pitch")
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
    canvas = Canvas(Colour(), 1080, "i420", select_backend("cpu"))
    frame = empty(1920, 1080)
    frame[...] = np.random.default_rng(0).integers(0, 256, frame.shape, dtype=np.uint8)
    result: dict[str, Any] = {"load_before": _load()}
    for name, slot in (("lower_third", LOWER_THIRD), ("corner", CORNER)):
        rect = slot.pixels(1920, 1080)
        overlay = prepare(creative_image(CreativeSpec(name, rect[2], rect[3], "PERF", (200, 30, 40), (255, 210, 0))),
                          rect, canvas)
        result[name] = {"region": f"{overlay.rect[2]}x{overlay.rect[3]}",
                        **_timed(lambda overlay=overlay: blend(frame, overlay), iterations)}
    result["load_after"] = _load()
    return result


def encode(clip: Path, frames: int) -> dict[str, Any]:
    """x264 ultrafast/zerolatency on the same 1080p frames with different thread settings: zerolatency already
    means sliced threads (no frame of latency); how many slices pay off on this machine is measured, not
    assumed. Frames per second and CPU per frame of the encode alone."""
    import av

    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        pictures = [f.to_ndarray() for f, _ in zip(container.decode(stream), range(frames), strict=False)]
    result: dict[str, Any] = {"load_before": _load()}
    for threads in ("1", "2", "auto"):
        with tempfile.TemporaryDirectory() as tmp, av.open(str(Path(tmp) / "e.mp4"), mode="w") as out:
            video = out.add_stream("libx264", rate=60)
            video.width, video.height, video.pix_fmt = 1920, 1080, "yuv420p"
            video.options = {"preset": "ultrafast", "tune": "zerolatency", "threads": threads}
            samples, cpu, wall = [], time.process_time(), time.monotonic()
            for index, picture in enumerate(pictures):
                started = time.perf_counter_ns()
                frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
                frame.pts = index
                for packet in video.encode(frame):
                    out.mux(packet)
                samples.append((time.perf_counter_ns() - started) / 1e6)
            for packet in video.encode(None):
                out.mux(packet)
            cpu_ms = (time.process_time() - cpu) * 1000 / len(pictures)
            result[f"threads_{threads}"] = {"fps": round(len(pictures) / (time.monotonic() - wall), 1),
                                            "cpu_ms_per_frame": round(cpu_ms, 2), **_percentiles(samples)}
    result["load_after"] = _load()
    return result


def _probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_name,nb_read_frames,pix_fmt,color_space,color_range,color_primaries",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["streams"][0]


def _process(command: list[str]) -> tuple[float, float]:
    """Frames per second and CPU milliseconds per frame (children's user + system) of a whole process."""
    before, started = os.times(), time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall, after = time.monotonic() - started, os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return round(PEER_FRAMES / wall, 1), round(cpu * 1000 / PEER_FRAMES, 2)


def peer(label: str, tmp: Path, clip_kind: str, rounds: int = 2) -> dict[str, Any]:
    """GStreamer and mediagrid free running on the same clip and creative, alternately, ``rounds`` times.

    ``clip_kind`` ``testsrc2``: the peer's own recipe (ffmpeg's test pattern, x264 veryfast: one slice per
    frame and B-frames, so only frame threads can spread its decode); ``pitch``: the project's football clip
    (x264 zerolatency, as a live contribution encoder makes it: several slices per frame).
    """
    if shutil.which("gst-launch-1.0") is None:
        return {"skipped": "gst-launch-1.0 not found: run `make perf-setup` (installs GStreamer)"}
    width, height = SIZES[label]
    clip = tmp / f"peer-{label}-{clip_kind}.mp4"
    if clip_kind == "testsrc2":
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=60",
                        "-t", str(PEER_FRAMES / 60), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                        str(clip)], check=True)
    else:
        make_clip(clip, seconds=PEER_FRAMES / 60, width=width, height=height, fps=60, preset="veryfast")
    cw, ch = round(width * 0.625), round(height * 0.139)  # 1200x150 at 1080p, as the peer's figures were taken
    x, y = (width - cw) // 2, round(height * 0.815)
    creative = write_rgba_png(tmp / f"peer-{label}.png",
                              creative_image(CreativeSpec("peer", cw, ch, "PEER", (200, 30, 40), (255, 210, 0))))
    schedule = tmp / f"peer-{label}.yaml"
    schedule.write_text("breaks:\n  - {break_id: all, creative_id: peer, start_pts_s: 0, duration_s: 600, slot: "
                        f"{{x: {x / width}, y: {y / height}, w: {cw / width}, h: {ch / height}}}}}\n")
    overrides = ["source.kind=file", f"source.path={clip}", "source.fps=60", "sink.kind=file",
                 f"sink.path={tmp / f'mg-{label}.mp4'}", "ad_insertion.pacing=throughput",
                 "deadlines.frame_ms=1000", f"ad_insertion.schedule={schedule}", "ad_insertion.stream_id=main",
                 f"ad_insertion.creatives=[{{id: peer, path: {creative}}}]", "ad_insertion.context.every_s=0"]
    command = [str(REPO / ".venv" / "bin" / "mediagrid"), "run", str(REPO / "configs" / "ad_insertion.yaml"),
               "--no-progress", "--device", "cpu"] + [arg for o in overrides for arg in ("--set", o)]
    runs: dict[str, list[float]] = {"gstreamer_fps": [], "mediagrid_fps": [], "mediagrid_process_fps": [],
                                    "gstreamer_cpu_ms_per_frame": [], "mediagrid_cpu_ms_per_frame": []}
    load_before = _load()
    for n in range(rounds):
        fps, cpu = _process(["bash", str(PEER), str(clip), str(creative), str(tmp / f"gst-{label}.mp4"),
                             str(PEER_FRAMES), str(x), str(y)])
        runs["gstreamer_fps"].append(fps)
        runs["gstreamer_cpu_ms_per_frame"].append(cpu)
        run_dir = tmp / f"peer-run-{label}-{clip_kind}-{n}"
        fps, cpu = _process(command + ["--out", str(run_dir)])
        runs["mediagrid_process_fps"].append(fps)
        runs["mediagrid_cpu_ms_per_frame"].append(cpu)
        events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
        runs["mediagrid_fps"].append(round((len(events) - 1) / ((events[-1]["t_ms"] - events[0]["t_ms"]) / 1000), 1))
    ratios = [round(m / g, 2) for m, g in zip(runs["mediagrid_fps"], runs["gstreamer_fps"])]
    process_ratios = [round(m / g, 2) for m, g in zip(runs["mediagrid_process_fps"], runs["gstreamer_fps"])]
    return {"frame": f"{width}x{height}@60", "clip": clip_kind, "frames": PEER_FRAMES, **runs, "ratio": ratios,
            "process_ratio": process_ratios,
            "load_before": load_before, "load_after": _load(),
            "outputs": {"gstreamer": _probe(tmp / f"gst-{label}.mp4"), "mediagrid": _probe(tmp / f"mg-{label}.mp4"),
                        "input": _probe(clip)}}


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
    if "encode" in result:
        e = result["encode"]
        for key in ("threads_1", "threads_2", "threads_auto"):
            lines.append(f"x264 ultrafast/zerolatency 1080p, {key}: {e[key]['fps']} fps, "
                         f"{e[key]['cpu_ms_per_frame']} ms CPU per frame, p50 {e[key]['p50_ms']:.2f} ms "
                         f"p99 {e[key]['p99_ms']:.2f} ms (load {e['load_before']} -> {e['load_after']})")
    for key in [f"peer_{label}_{kind}" for label in SIZES for kind in PEER_CLIPS]:
        r = result.get(key)
        if r is None:
            continue
        if "skipped" in r:
            lines.append(f"{key}: skipped, {r['skipped']}")
            continue
        out = r["outputs"]
        lines += [
            f"peer {r['frame']} {r['clip']} clip, free running, {r['frames']} frames: GStreamer "
            f"{r['gstreamer_fps']} fps, mediagrid {r['mediagrid_fps']} fps (graph) -> ratio {r['ratio']} "
            f"(mediagrid / GStreamer; load {r['load_before']} -> {r['load_after']})",
            f"  whole processes: GStreamer {r['gstreamer_fps']} fps, mediagrid {r['mediagrid_process_fps']} fps "
            f"(ratio {r['process_ratio']}: Python, Holoscan and the encoder start in it)",
            f"  CPU per frame, all threads, whole process: GStreamer {r['gstreamer_cpu_ms_per_frame']} ms, mediagrid "
            f"{r['mediagrid_cpu_ms_per_frame']} ms",
            "  outputs: " + "; ".join(f"{k} {v.get('codec_name')} {v.get('nb_read_frames')} frames {v.get('pix_fmt')} "
                                       f"{v.get('color_space', '?')}/{v.get('color_range', '?')}/"
                                       f"{v.get('color_primaries', '?')}" for k, v in out.items()),
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each end-to-end run")
    parser.add_argument("--only", default="compositor,encode,peer,720p,1080p",
                        help="comma-separated sections: compositor, encode, peer, 720p, 1080p")
    parser.add_argument("--results", type=Path, default=REPO / "perf" / "results")
    args = parser.parse_args()
    sections = set(args.only.split(","))
    result: dict[str, Any] = {"benchmark": "ad_insertion", "device": "cpu", "cpus": os.cpu_count(),
                              "seconds": args.seconds,
                              "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory() as tmp:
        if "compositor" in sections:
            result["compositor"] = compositor(iterations=max(round(args.seconds * 60), 2000))
        if "encode" in sections:
            clip = make_clip(Path(tmp) / "encode.mp4", seconds=4, width=1920, height=1080, fps=60)
            result["encode"] = encode(clip, frames=240)
        if "peer" in sections:
            for label in SIZES:
                for kind in PEER_CLIPS:
                    result[f"peer_{label}_{kind}"] = peer(label, Path(tmp), kind)
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
