"""Sports overlay: how soon telemetry is on air, and what painting and blending the graphics cost.

(Over 400 lines on purpose: the latency run and the three painting libraries it compares live together so
that one command reproduces perf/results/sports_overlay*.md.)

    .venv/bin/python perf/sports_overlay.py latency [--seconds 20 --burst-at 8 --burst-s 5 --burst-x 10]
                     [--fps 50] [--scheduler event2|event1|greedy] [--gil-switch-ms MS] [--set KEY=VALUE ...]
    .venv/bin/python perf/sports_overlay.py render

``latency``: the real app (configs/sports_overlay.yaml, 1080p synthetic source, null sink) runs in this
process against a Tansu broker started with mediagrid.kafka.start_broker; a producer process publishes the
football scenario's telemetry, stamped with the wall clock at send time, at its normal rate (about 27
messages a second) and, for ``--burst-s`` seconds, ``--burst-x`` times faster. Latency per message is its
Kafka timestamp to the end of compositing of the first frame that shows it (the ledger's ``telemetry``
outcome); the first seconds (consumer group join) are a warm-up, not measured. Prints p50/p99/max per
phase and writes perf/results/sports_overlay.json and .md; a run with another scheduler, GIL switch interval
or ``--set`` writes sports_overlay_<variant>.json instead.

``render``: the graphics library comparison (Pillow, OpenCV 5 TrueType, skia-python when installed) on the
overlay's graphics, then the real LayerBuilder and compositor on a scenario snapshot at 1080p. Writes
perf/results/sports_overlay_render.json and .md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HOLOSCAN_LOG_LEVEL", "ERROR")

from mediagrid.scenarios.football import match_messages  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "perf" / "results"
MATCH = dict(id="final-2026", home="Northbridge FC", away="Rivermouth United", start_minute=50, speed=120)
WARMUP_S = 4.0


def pct(values: Any) -> dict[str, float | None]:
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return {"p50": None, "p99": None, "max": None}
    return {"p50": round(float(np.percentile(a, 50)), 3), "p99": round(float(np.percentile(a, 99)), 3),
            "max": round(float(a.max()), 3)}


def fmt(p: dict[str, float | None]) -> str:
    return "  ".join(f"{k} {v:7.2f} ms" if v is not None else f"{k} -" for k, v in p.items())


def load() -> float:
    return round(os.getloadavg()[0], 2)


def write(name: str, result: dict[str, Any], lines: list[str]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(f"# perf/sports_overlay.py ({name})\n\n```\n" + "\n".join(lines) + "\n```\n")


# -- latency -----------------------------------------------------------------------------------------------
def schedule(seconds: float, burst_at: float, burst_s: float, burst_x: float,
             jitter_s: float) -> list[tuple[float, Any, str]]:
    """(send time from the start, scenario message, phase): the match at its own pace, except that inside
    the burst window the gaps between messages shrink ``burst_x`` times (so ``burst_x`` times the rate).

    Each send is delayed by up to ``jitter_s`` (one frame period), order kept: the 25 Hz feed and the 50 fps
    video would otherwise keep one phase for the whole run, and the wait for the next frame, a constant,
    would make p50 a matter of luck between runs."""
    out, t, previous, sent_at = [], 0.0, 0.0, 0.0
    rng = random.Random(1)
    for message in match_messages(7, 0, 10_000, **MATCH):
        gap = message.send_at_s - previous
        previous = message.send_at_s
        phase = "warmup" if t < WARMUP_S else "burst" if burst_at <= t - WARMUP_S < burst_at + burst_s else "normal"
        t += gap / burst_x if phase == "burst" else gap
        if t >= WARMUP_S + seconds:
            break
        sent_at = max(sent_at, t + rng.uniform(0, jitter_s))
        out.append((sent_at, message, phase))
    return out


def publisher(bootstrap: str, topic: str, plan: list[tuple[float, Any, str]], out: Path) -> None:
    """In a process of its own, as a broadcaster would be: it must not share the app's interpreter lock."""
    out.write_text(json.dumps(asyncio.run(publish(bootstrap, topic, plan))))


async def publish(bootstrap: str, topic: str, plan: list[tuple[float, Any, str]]) -> list[tuple[int, str]]:
    """Sends on time (wall clock ts_ms = Kafka timestamp = send time); returns (timestamp ms, phase)."""
    from aiokafka import AIOKafkaProducer  # noqa: PLC0415

    from mediagrid.kafka.topics import encode  # noqa: PLC0415

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    await producer.start()
    sent = []
    try:
        start = time.monotonic()
        for at, message, phase in plan:
            wait = start + at - time.monotonic()
            if wait > 0.0005:
                await asyncio.sleep(wait)
            ts_ms = time.time_ns() // 1_000_000
            value = {**message.value, "ts_ms": ts_ms}
            await producer.send(topic, encode(value), key=message.key, timestamp_ms=ts_ms)
            sent.append((ts_ms, phase))
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def latency(args: argparse.Namespace) -> None:
    from mediagrid.apps.sports_overlay import SportsOverlayApp  # noqa: PLC0415 - imports Holoscan
    from mediagrid.config import load_app_config  # noqa: PLC0415
    from mediagrid.kafka import start_broker  # noqa: PLC0415
    from mediagrid.kafka.session import KafkaSession  # noqa: PLC0415
    from mediagrid.metrics.recorder import OutcomeRecorder  # noqa: PLC0415
    from mediagrid.runtime.clock import NS_PER_MS, wall_to_monotonic_ns  # noqa: PLC0415
    from mediagrid.run_context import RunContext  # noqa: PLC0415
    from mediagrid.runtime.control import RunControl  # noqa: PLC0415
    from mediagrid.runtime.device import select_backend  # noqa: PLC0415

    from holoscan.schedulers import EventBasedScheduler, GreedyScheduler  # noqa: PLC0415

    class Capture(OutcomeRecorder):
        """Keeps each telemetry outcome with its origin, to split the latencies by phase."""

        def __init__(self, deadline_ms: float) -> None:
            super().__init__(deadline_ms)
            self.telemetry: list[tuple[int, float, str]] = []

        def stage(self, name, item_id, deadline, started_ns, finished_ns=None, **kw):  # noqa: ANN001, ANN003
            outcome = super().stage(name, item_id, deadline, started_ns, finished_ns, **kw)
            if name == "telemetry":
                self.telemetry.append((started_ns, (self.last_finished(finished_ns) - started_ns) / NS_PER_MS,
                                       outcome.value))
            return outcome

        @staticmethod
        def last_finished(finished_ns: int | None) -> int:
            return time.monotonic_ns() if finished_ns is None else finished_ns

    class App(SportsOverlayApp):
        def compose(self) -> None:
            super().compose()
            if args.gil_switch_ms is not None:  # Python's default is 5 ms
                sys.setswitchinterval(args.gil_switch_ms / 1000)

        def make_scheduler(self) -> Any:
            if args.scheduler == "greedy":
                return GreedyScheduler(self, stop_on_deadlock=True, name="greedy")
            return EventBasedScheduler(self, worker_thread_number=int(args.scheduler[-1]), stop_on_deadlock=True,
                                       stop_on_deadlock_timeout=200, name="event_based")

    plan = schedule(args.seconds, args.burst_at, args.burst_s, args.burst_x, 1 / args.fps)
    load_before = load()
    with start_broker("tansu") as broker:
        topic = f"perf.telemetry.{uuid.uuid4().hex[:8]}"
        config = load_app_config(REPO / "configs" / "sports_overlay.yaml", [
            f"kafka.bootstrap={broker.bootstrap}", f"kafka.group=perf-{uuid.uuid4().hex[:8]}",
            f"kafka.topics={{sports.telemetry: {topic}}}", f"source.fps={args.fps}", 'sink.kind="null"',
            *args.overrides])
        recorder = Capture(1000 / args.fps)
        ctx = RunContext(backend=select_backend("cpu"), recorder=recorder, control=RunControl(), out_dir=None)
        ctx.kafka = KafkaSession(config.kafka)
        app = App(config, ctx)
        future = app.run_async()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "sent.json"
                child = multiprocessing.get_context("spawn").Process(
                    target=publisher, args=(broker.bootstrap, topic, plan, out))
                child.start()
                child.join()
                if child.exitcode != 0:
                    raise SystemExit(f"the publisher process failed (exit code {child.exitcode})")
                sent = [tuple(row) for row in json.loads(out.read_text())]
            time.sleep(1.0)
        finally:
            ctx.control.request_stop("duration")
            future.result(timeout=60)
            app.shutdown_async_executor()
            ctx.kafka.close()
    # origin_ns as the bridge computes it, up to the clock offset's drift since: match to the nearest
    origins = np.array([wall_to_monotonic_ns(0) + ts * NS_PER_MS for ts, _ in sent], dtype=np.int64)
    phases = [phase for _, phase in sent]
    by_phase: dict[str, list[tuple[float, str]]] = {"normal": [], "burst": []}
    for origin, latency_ms, outcome in recorder.telemetry:
        phase = phases[int(np.argmin(np.abs(origins - origin)))]
        if phase in by_phase:
            by_phase[phase].append((latency_ms, outcome))
    series = recorder.series()
    frames, comp = series["end_to_end"], series["composite"]
    rates = {p: sum(1 for _, ph in sent if ph == p) / (args.burst_s if p == "burst" else args.seconds - args.burst_s)
             for p in ("normal", "burst")}
    result: dict[str, Any] = {
        "benchmark": "sports_overlay_latency", "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "broker": "tansu", "scheduler": args.scheduler, "video": f"1920x1080@{args.fps:g} synthetic, null sink",
        "overrides": args.overrides, "gil_switch_ms": args.gil_switch_ms,
        "cpus": os.cpu_count(), "loadavg_1m": {"before": load_before, "after": load()},
        "telemetry_deadline_ms": config.deadlines.budgets_ms["telemetry"],
        "phases": {}, "frames": {
            "count": len(frames.outcomes), "miss_rate": round(
                (frames.tally["missed"] + frames.tally["dropped"]) / max(len(frames.outcomes), 1), 5),
            "latency_ms": pct(frames.latency_ms), "composite_ms": pct(comp.latency_ms)},
    }
    lines = [f"sports overlay telemetry latency, Kafka timestamp -> first composited frame showing it; Tansu, "
             f"{result['video']}, scheduler {args.scheduler}, GIL switch "
             f"{args.gil_switch_ms if args.gil_switch_ms is not None else sys.getswitchinterval() * 1000:g} ms, "
             f"{' '.join(args.overrides) + ', ' if args.overrides else ''}{os.cpu_count()} CPUs "
             f"(load {load_before} -> {result['loadavg_1m']['after']})"]
    for phase, rows in by_phase.items():
        shown = [lat for lat, outcome in rows if outcome in ("met", "missed")]
        counts = {o: sum(1 for _, out in rows if out == o) for o in ("met", "missed", "dropped")}
        result["phases"][phase] = {"rate_msg_s": round(rates[phase], 1), "messages": len(rows), **counts,
                                   "latency_ms": pct(shown)}
        lines.append(f"  {phase:6s} {rates[phase]:6.1f} msg/s  {len(rows):5d} msgs  shown {len(shown):5d}  "
                     f"dropped {counts['dropped']:3d}   {fmt(pct(shown))}")
    f = result["frames"]
    lines.append(f"  frames {f['count']}  miss rate {f['miss_rate']:.3%}  frame latency {fmt(f['latency_ms'])}")
    lines.append(f"  composite stage {fmt(f['composite_ms'])}")
    print("\n".join(lines))
    variant = [args.scheduler] if args.scheduler != "event2" else []
    variant += ["custom"] if args.overrides else []
    variant += [f"gil{args.gil_switch_ms:g}ms"] if args.gil_switch_ms is not None else []
    name = "_".join(["sports_overlay", *variant])
    write(name, result, lines)


# -- render ------------------------------------------------------------------------------------------------
def bench(fn: Callable[[], Any], n: int = 300) -> dict[str, float | None]:
    for _ in range(20):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return pct(times)


def _pillow(painter: Any) -> dict[str, Callable[[], Any]]:
    colours = ((200, 16, 46), (29, 78, 216))
    return {
        "scorebug": lambda: painter.scorebug("Northbridge FC", "Rivermouth United", 2, 1, colours, (0, 1)),
        "clock": lambda: (painter.clock_box("2H", 5), [painter.clock_glyph(c) for c in "67:12"]),
        "marker": lambda: painter.marker(10, "Kenji Mensah", colours[0], False),
        "banner": lambda: painter.banner("GOAL  Northbridge FC", "67'  9  Kenji Mensah", colours[0],
                                         (200, 16, 46, 255)),
    }


def _opencv(fonts: Any) -> dict[str, Callable[[], Any]]:
    import cv2  # noqa: PLC0415

    bold, regular = cv2.FontFace(str(fonts.bold)), cv2.FontFace(str(fonts.regular))
    white = (255, 255, 255, 255)

    def scorebug() -> np.ndarray:
        a = np.zeros((52, 330, 4), np.uint8)
        cv2.rectangle(a, (0, 0), (329, 51), (14, 20, 42, 235), -1, cv2.LINE_AA)
        for x, text in ((20, "NOR"), (130, "2 - 1"), (240, "RIV")):
            cv2.putText(a, text, (x, 37), white, bold, 30)
        return a

    def clock() -> np.ndarray:
        a = np.zeros((52, 150, 4), np.uint8)
        cv2.rectangle(a, (0, 0), (149, 51), (38, 48, 86, 235), -1)
        cv2.putText(a, "67:12", (14, 36), white, bold, 28)
        cv2.putText(a, "2H", (120, 34), (255, 206, 0, 255), bold, 16)
        return a

    def marker() -> np.ndarray:
        a = np.zeros((60, 100, 4), np.uint8)
        cv2.circle(a, (50, 16), 16, white, -1, cv2.LINE_AA)
        cv2.circle(a, (50, 16), 14, (200, 16, 46, 255), -1, cv2.LINE_AA)
        cv2.putText(a, "10", (42, 21), white, bold, 15)
        cv2.rectangle(a, (10, 37), (90, 57), (0, 0, 0, 160), -1)
        cv2.putText(a, "K. Mensah", (16, 52), white, regular, 14)
        return a

    def banner() -> np.ndarray:
        a = np.zeros((118, 720, 4), np.uint8)
        cv2.rectangle(a, (0, 0), (719, 117), (14, 20, 42, 235), -1)
        cv2.rectangle(a, (0, 0), (14, 117), (200, 16, 46, 255), -1)
        cv2.putText(a, "GOAL  Northbridge FC", (38, 52), white, bold, 40)
        cv2.putText(a, "67'  9  Kenji Mensah", (38, 94), white, regular, 26)
        return a

    return {"scorebug": scorebug, "clock": clock, "marker": marker, "banner": banner}


def _skia(fonts: Any) -> dict[str, Callable[[], Any]] | None:
    try:
        import skia  # noqa: PLC0415
    except ImportError:
        return None
    bold, regular = skia.Typeface.MakeFromFile(str(fonts.bold)), skia.Typeface.MakeFromFile(str(fonts.regular))

    def paint(rgba: tuple[int, int, int, int]) -> Any:
        return skia.Paint(Color=skia.Color(*rgba), AntiAlias=True)

    def canvas(h: int, w: int, draw: Callable[[Any], None]) -> np.ndarray:
        a = np.zeros((h, w, 4), np.uint8)
        with skia.Surface(a, colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kPremul_AlphaType) as c:
            draw(c)
        return a

    def centred(c: Any, text: str, x: float, y: float, font: Any, rgba: tuple[int, int, int, int]) -> None:
        c.drawString(text, x - font.measureText(text) / 2, y, font, paint(rgba))

    white = (255, 255, 255, 255)
    f30, f28, f16, f15, f14, f40, f26 = (skia.Font(t, s) for t, s in (
        (bold, 30), (bold, 28), (bold, 16), (bold, 15), (regular, 14), (bold, 40), (regular, 26)))
    return {
        "scorebug": lambda: canvas(52, 330, lambda c: (
            c.drawRoundRect(skia.Rect(0, 0, 330, 52), 8, 8, paint((14, 20, 42, 235))),
            [centred(c, t, x, 37, f30, white) for x, t in ((50, "NOR"), (165, "2 - 1"), (280, "RIV"))])),
        "clock": lambda: canvas(52, 150, lambda c: (
            c.drawRoundRect(skia.Rect(0, 0, 150, 52), 8, 8, paint((38, 48, 86, 235))),
            c.drawString("67:12", 14, 36, f28, paint(white)), c.drawString("2H", 120, 34, f16, paint(white)))),
        "marker": lambda: canvas(60, 100, lambda c: (
            c.drawCircle(50, 16, 16, paint(white)), c.drawCircle(50, 16, 14, paint((200, 16, 46, 255))),
            centred(c, "10", 50, 21, f15, white),
            c.drawRoundRect(skia.Rect(10, 37, 90, 57), 4, 4, paint((0, 0, 0, 160))),
            centred(c, "K. Mensah", 50, 52, f14, white))),
        "banner": lambda: canvas(118, 720, lambda c: (
            c.drawRoundRect(skia.Rect(0, 0, 720, 118), 10, 10, paint((14, 20, 42, 235))),
            c.drawRect(skia.Rect(0, 0, 15, 118), paint((200, 16, 46, 255))),
            c.drawString("GOAL  Northbridge FC", 38, 52, f40, paint(white)),
            c.drawString("67'  9  Kenji Mensah", 38, 94, f26, paint(white)))),
    }


def render(args: argparse.Namespace) -> None:
    from mediagrid.media.compositor import Canvas, Scratch  # noqa: PLC0415
    from mediagrid.media.yuv import Colour, from_rgb  # noqa: PLC0415
    from mediagrid.runtime import select_backend  # noqa: PLC0415
    from mediagrid.overlay.layers import composite  # noqa: PLC0415
    from mediagrid.overlay.paint import Fonts, Painter  # noqa: PLC0415
    from mediagrid.overlay.render import Camera, LayerBuilder, Style  # noqa: PLC0415
    from mediagrid.overlay.state import MatchState  # noqa: PLC0415
    from mediagrid.media.patterns import synthetic_pattern  # noqa: PLC0415

    width, height = 1920, 1080
    fonts = Fonts(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                  Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))
    painter = Painter(fonts, height)
    load_before = load()
    libs = {"pillow": _pillow(painter), "opencv5": _opencv(fonts), "skia": _skia(fonts)}
    result: dict[str, Any] = {"benchmark": "sports_overlay_render", "when": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "cpus": os.cpu_count(), "libraries": {}}
    lines = ["painting one graphic into its own RGBA image (1080p sizes, DejaVu), ms:"]
    for lib, graphics in libs.items():
        if graphics is None:
            lines.append(f"  {lib:8s} not installed")
            continue
        timings = {name: bench(fn) for name, fn in graphics.items()}
        result["libraries"][lib] = timings
        lines.append(f"  {lib:8s} " + "  ".join(f"{n} {t['p50']:.3f}/{t['p99']:.3f}" for n, t in timings.items())
                     + "   (p50/p99)")

    style = Style.from_config(dict(home_colour="#c8102e", away_colour="#1d4ed8", names=True, banner_s=5, wipe_ms=400))
    camera = Camera([[0.04, 0.93], [0.96, 0.93], [0.80, 0.30], [0.20, 0.30]], width, height)
    builder = LayerBuilder(painter, camera, style, width, height,
                           Canvas(Colour(), height, "i420", select_backend("cpu")))
    state, builds, layer = MatchState(), [], None
    for message in match_messages(7, 0, 30, **MATCH):
        state.apply(message.value, late=False, at_ns=0)
        if message.value["kind"] == "frame":
            t = time.perf_counter()
            layer = builder.build(state.view())
            builds.append((time.perf_counter() - t) * 1e3)
    frame0 = from_rgb(synthetic_pattern("gradient", height, width), Colour())
    scratch, frame = Scratch(np), frame0.copy()
    blends = []
    for _ in range(300):
        np.copyto(frame, frame0)
        t = time.perf_counter()
        pixels = composite(frame, layer, 0, scratch)
        blends.append((time.perf_counter() - t) * 1e3)
    result["layer_build_ms"] = pct(builds)
    result["layer_builds"] = len(builds)
    result["painted"] = dict(builder.painted)
    result["composite_ms"] = pct(blends)
    result["composite_pixels"] = pixels
    result["placements"] = len(layer.placements)
    result["loadavg_1m"] = {"before": load_before, "after": load()}
    lines += [
        f"layer build per telemetry frame (football scenario, 30 s, {len(builds)} frames; painted: "
        + ", ".join(f"{k} {v}" for k, v in builder.painted.items()) + f"): {fmt(result['layer_build_ms'])}",
        f"composite at 1080p, numpy, {len(layer.placements)} sprites, {pixels} pixels: {fmt(result['composite_ms'])}",
        f"{os.cpu_count()} CPUs, load {load_before} -> {result['loadavg_1m']['after']}",
    ]
    print("\n".join(lines))
    write("sports_overlay_render", result, lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("latency")
    p.add_argument("--seconds", type=float, default=20.0, help="measured time after the warm-up")
    p.add_argument("--burst-at", type=float, default=8.0, help="burst start, seconds into the measured time")
    p.add_argument("--burst-s", type=float, default=5.0)
    p.add_argument("--burst-x", type=float, default=10.0)
    p.add_argument("--fps", type=float, default=50.0)
    p.add_argument("--scheduler", choices=("event2", "event1", "greedy"), default="event2")
    p.add_argument("--gil-switch-ms", type=float, help="set the process's GIL switch interval (default 5 ms)")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                   help="override a value of configs/sports_overlay.yaml (repeatable)")
    sub.add_parser("render")
    args = parser.parse_args()
    latency(args) if args.mode == "latency" else render(args)


if __name__ == "__main__":
    main()
