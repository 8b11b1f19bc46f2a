"""Runs one use-case app from its config and always leaves a summary behind.

The Holoscan graph runs on its own executor thread (``run_async``) so the main thread stays free to turn
Ctrl-C or SIGTERM into a clean stop request, show progress, and write ``summary.json`` whatever happened.
"""
from __future__ import annotations

import gc
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mediagrid.config import AppConfig
from mediagrid.errors import MediagridError, UsageError
from mediagrid.metrics import OutcomeRecorder, build_summary, write_summary
from mediagrid.runtime.clock import ns_to_ms
from mediagrid.run_context import RunContext
from mediagrid.runtime.control import RunControl
from mediagrid.runtime.device import select_backend

PROGRESS_EVERY_S = 1.0


class RunFailed(MediagridError):
    """The app stopped because one of its operators failed; the summary was still written."""


def _progress_line(ctx: RunContext, elapsed_s: float, duration_s: float | None) -> str:
    counts = ctx.recorder.counts()
    done = sum(counts.values())
    late = counts["missed"] + counts["dropped"]
    remaining = f", {max(duration_s - elapsed_s, 0):.0f}s left" if duration_s else ""
    return (f"\r{done} items, {counts['met']} met, {counts['degraded']} degraded, {late} missed/dropped, "
            f"{elapsed_s:.0f}s elapsed{remaining}   ")


def _wait(app: Any, ctx: RunContext, duration_s: float | None, show_progress: bool) -> None:
    """Wait for the graph. The first Ctrl-C/SIGTERM asks the sources to stop and the graph drains; the
    second interrupts the graph at once; a third Ctrl-C ends the process (no summary then)."""
    future = app.run_async()
    started = time.monotonic()
    last_progress = started
    interrupts = 0
    while True:
        if interrupts < 2:
            # Holoscan installs its own SIGINT and SIGTERM handlers as the graph starts; they interrupt the
            # graph at once and force the process out 3 s later if it is still draining, before any summary
            # is written: take both back.
            _take_signals()
        try:
            future.result(timeout=0.1)
            return
        except FutureTimeout:
            pass
        except KeyboardInterrupt:
            interrupts += 1
            if interrupts == 1:
                sys.stderr.write("\nstopping: the graph drains what it holds (interrupt again to stop at once)\n")
                ctx.control.request_stop("interrupt")
            elif interrupts == 2:
                sys.stderr.write("\nstopping at once (interrupt again to end the process without a summary)\n")
                ctx.control.request_stop("interrupt")
                for signum in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(signum, signal.SIG_DFL)
                app.executor.interrupt()
            continue
        except Exception as exc:  # raised from an operator's start()/stop(), outside the guarded compute()
            ctx.control.fail(exc)
            return
        now = time.monotonic()
        if ctx.control.duration_reached():
            ctx.control.request_stop("duration")  # event-driven sources have no tick to notice it on
        limit = ctx.control.max_items
        if limit is not None and sum(ctx.recorder.counts().values()) >= limit:
            ctx.control.request_stop("frames")
        if show_progress and now - last_progress >= PROGRESS_EVERY_S:
            sys.stderr.write(_progress_line(ctx, now - started, duration_s))
            sys.stderr.flush()
            last_progress = now


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _take_signals() -> None:
    """SIGINT and SIGTERM both raise KeyboardInterrupt in the main thread, where :func:`_wait` handles them."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)


def _sigterm_as_interrupt() -> Callable[[], None]:
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _serve_metrics(config: AppConfig, ctx: RunContext, port: int, host: str) -> Any:
    from mediagrid.metrics.prometheus import RunCollector, serve_metrics  # noqa: PLC0415

    collector = RunCollector(ctx.recorder, {"app": config.app, "node": config.node.id},
                             ctx.kafka.stats if ctx.kafka is not None else None)
    return serve_metrics(collector, port, host)


def _serve_hls(config: AppConfig, port: int, host: str) -> Any:
    """The player page and the HLS output, served while the run lasts (``--http-port``)."""
    from mediagrid.broadcast.serve import serve  # noqa: PLC0415

    if config.sink is None or config.sink.kind != "hls":
        raise UsageError(f"{config.path}: --http-port serves an HLS output; set sink.kind: hls (and sink.dir)")
    config.sink.dir.mkdir(parents=True, exist_ok=True)
    server = serve(config.sink.dir, port=port, host=host)
    print(f"mediagrid: watch at {server.url} (HLS: {server.url}index.m3u8)", file=sys.stderr, flush=True)
    return server


def _open_kafka(config: AppConfig, ctx: RunContext) -> Any:
    """The run's Kafka session and, when the node reports to the control plane, its heartbeat; both on the
    run's exit stack."""
    from mediagrid.grid.heartbeat import HeartbeatPublisher  # noqa: PLC0415
    from mediagrid.kafka.session import KafkaSession  # noqa: PLC0415

    kafka = KafkaSession(config.kafka)
    ctx.resources.callback(kafka.close)
    if config.node.heartbeat_ms > 0:
        ctx.resources.callback(HeartbeatPublisher(kafka, config.node, config.app, ctx.recorder).start().stop)
    return kafka


def run_app(config: AppConfig, *, out_dir: Path, duration_s: float | None = None, frames: int | None = None,
            device: str | None = None, show_progress: bool | None = None, metrics_port: int | None = None,
            metrics_host: str = "127.0.0.1", http_port: int | None = None,
            http_host: str = "127.0.0.1") -> dict[str, Any]:
    """Run ``config``'s app until a limit, the end of its input, an error or an interrupt; return the summary."""
    from mediagrid.apps import app_class  # noqa: PLC0415 - imports Holoscan; keep `mediagrid` light

    backend = select_backend(device or config.device)
    cls = app_class(config.app)
    deadline_ms = ns_to_ms(config.deadlines.budget_ns(cls.DEADLINE))
    out_dir.mkdir(parents=True, exist_ok=True)
    recorder = OutcomeRecorder(deadline_ms, out_dir / "events.jsonl")
    ctx = RunContext(backend=backend, recorder=recorder, control=RunControl(max_items=frames, duration_s=duration_s),
                     out_dir=out_dir)
    kafka_stats: dict[str, int] = {}
    started_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    started = time.monotonic()
    restore_sigterm = _sigterm_as_interrupt()
    try:
        # The run's resources, closed newest first once the graph has ended (or composing failed): what the
        # app opened, then the metrics server, the heartbeat (its last one says "down": the control plane
        # moves our sessions now), and last the Kafka session (deliveries flushed, acknowledged offsets
        # committed, an embedded broker stopped).
        with ctx.resources:
            if config.kafka is not None:
                ctx.kafka = _open_kafka(config, ctx)
            if metrics_port is not None:
                ctx.resources.callback(_serve_metrics(config, ctx, metrics_port, metrics_host).shutdown)
            if http_port is not None:
                ctx.resources.callback(_serve_hls(config, http_port, http_host).close)
            app = cls(config, ctx)
            # Everything loaded so far (modules, config, models) lives as long as the run: collect once now
            # and freeze it, so that no full collection walks it on a frame path (perf/results/ad_insertion.md).
            gc.collect()
            gc.freeze()
            _wait(app, ctx, duration_s, sys.stderr.isatty() if show_progress is None else show_progress)
            app.shutdown_async_executor()
    finally:
        restore_sigterm()
        if ctx.kafka is not None:
            kafka_stats = ctx.kafka.stats()
        recorder.close()
        control = ctx.control
        extra: dict[str, Any] = {"stopped_by": control.stopped_by or "end_of_stream"}
        if control.error is not None:
            extra["error"] = str(control.error)
        extra.update({name: report() for name, report in ctx.reports.items()})
        summary = build_summary(app=config.app, config=str(config.path), device=backend.device,
                                started_at=started_at, duration_s=time.monotonic() - started,
                                recorder=recorder, kafka=kafka_stats, extra=extra)
        write_summary(summary, out_dir)
    if ctx.control.error is not None:
        error = ctx.control.error
        if isinstance(error, MediagridError):
            raise error
        raise RunFailed(f"{config.app}: {type(error).__name__}: {error}") from error
    return summary
