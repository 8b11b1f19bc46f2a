"""``mediagrid demo``: every use case end to end on embedded defaults, then one combined report.

Embedded broker (started, or reused when one already answers on 127.0.0.1:19092), broadcaster traffic from
the football scenario published while the Kafka-fed apps run, generated media, one run directory per app
(each a ``mediagrid run`` subprocess, so one app's crash cannot take the others down) and an index page.

A Kafka-fed app gets its traffic once its consumer group is stable (it has joined and holds the
partitions), however long its start-up takes on this machine; it is stopped (SIGTERM: drain, summary)
a moment after the traffic ends.
"""
from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mediagrid.errors import MediagridError
from mediagrid.kafka.brokers import embedded_bootstrap

SCENARIO = "configs/scenarios/football-match.yaml"
READY_TIMEOUT_S = 120.0  # a Kafka-fed app that has not joined its group by then gets the traffic anyway
SETTLE_S = 0.5  # after the group is stable, for the new member to look up where the topics end (latest)
DRAIN_S = 1.0  # after the last message, before the app is asked to stop
STOP_TIMEOUT_S = 60.0
_POLL_S = 0.2


@dataclass(frozen=True)
class DemoApp:
    name: str
    config: str
    kafka: bool  # publish scenario traffic while it runs
    overrides: tuple[str, ...] = ()  # "{run_dir}" stands for the app's run directory
    prepare: Callable[[str], None] | None = None  # untimed set-up, given the config path
    outputs: tuple[str, ...] = field(default=())  # files the app writes into its run directory


def _triton_ready() -> bool:
    """The Triton server is used when its venv was set up (make triton-venv), else the in-process encoder."""
    from mediagrid.recsys.triton import TritonError, server_dir, triton_venv  # noqa: PLC0415

    try:
        server_dir(triton_venv())
    except TritonError:
        return False
    return True


def _warm_recsys_index(config_path: str) -> None:
    """Build the recommendation index into its cache before the timed run: a first build takes longer than
    the app's window, which would then see none of the traffic published for it."""
    from mediagrid.config import load_app_config  # noqa: PLC0415
    from mediagrid.recsys.catalog import CatalogSpec, generate_catalog  # noqa: PLC0415
    from mediagrid.recsys.index_store import IndexSpec, IndexStore  # noqa: PLC0415

    section = load_app_config(config_path).sections["recsys"]
    catalog = generate_catalog(CatalogSpec.from_config(section["catalog"]))
    IndexStore(section["index"]["cache_dir"]).load_or_build(catalog, IndexSpec.from_config(section["index"]))


def demo_apps() -> tuple[DemoApp, ...]:
    # Tansu makes a join wait half a session timeout; each app reads only the traffic of its own window
    fast_join = ("kafka.session_timeout_ms=3000", "kafka.auto_offset_reset=latest")
    return (
        DemoApp("passthrough", "configs/passthrough.yaml", kafka=False),
        DemoApp("ad_insertion", "configs/ad_insertion.yaml", kafka=False,
                overrides=("sink.path={run_dir}/ad_insertion.mp4",), outputs=("ad_insertion.mp4", "ad_insertion.png")),
        DemoApp("sports_overlay", "configs/sports_overlay.yaml", kafka=True, overrides=fast_join,
                outputs=("overlay.png",)),
        DemoApp("ingest", "configs/ingest.yaml", kafka=True, overrides=fast_join),
        DemoApp("recsys_rerank", "configs/recsys_rerank.yaml", kafka=True, prepare=_warm_recsys_index,
                overrides=(*fast_join, *(() if _triton_ready() else ("recsys.encoder.triton=none",)))),
        DemoApp("live_translation", "configs/live_translation.yaml", kafka=False,
                outputs=("live_translation.mp4", "captions.vtt")),
    )


async def _group_stable(bootstrap: str, group: str, app: subprocess.Popen[bytes], timeout_s: float) -> bool:
    """Whether consumer group ``group`` became stable with members before ``timeout_s`` (or the app exited)."""
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and app.poll() is None:
            for response in await admin.describe_consumer_groups([group]):
                # each group: (error_code, group_id, state, protocol_type, protocol, members)
                if any(g[2] == "Stable" and g[5] for g in response.groups):
                    return True
            await asyncio.sleep(_POLL_S)
        return False
    finally:
        await admin.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM is the runner's clean stop (the graph drains, the summary is written); a second one stops
    the graph at once; a process that still does not end is killed."""
    for _ in range(2):
        if proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.kill()
    proc.wait()


def _run(app: DemoApp, bootstrap: str, duration_s: float, out_dir: Path) -> int:
    args = [sys.executable, "-m", "mediagrid.cli", "run", app.config, "--out", str(out_dir), "--no-progress"]
    for override in app.overrides:
        args += ["--set", override.format(run_dir=out_dir)]
    if not app.kafka:
        return subprocess.run([*args, "--duration", f"{duration_s:g}"], check=False).returncode
    from mediagrid.config import load_app_config  # noqa: PLC0415
    from mediagrid.scenarios import produce  # noqa: PLC0415

    # a group of this demo's own: on a reused broker, an earlier run's members cannot make it look ready
    group = f"{load_app_config(app.config).kafka.group}-{time.time_ns() // 1_000_000}"
    proc = subprocess.Popen([*args, "--set", f"kafka.bootstrap={bootstrap}", "--set", f"kafka.group={group}"])
    try:
        ready = asyncio.run(_group_stable(bootstrap, group, proc, READY_TIMEOUT_S))
        if proc.poll() is None:
            if not ready:
                print(f"demo: {app.name} has not joined consumer group {group} after {READY_TIMEOUT_S:g} s; "
                      "publishing anyway", file=sys.stderr)
            time.sleep(SETTLE_S)
            produce(SCENARIO, bootstrap, duration_s, None, None, None, progress=False)
            time.sleep(DRAIN_S)
    except MediagridError as exc:
        print(f"demo: publishing traffic failed: {exc}", file=sys.stderr)
    finally:
        _stop(proc)
    return proc.returncode


def run_demo(duration_s: float = 15.0, out_dir: Path | None = None) -> Path:
    """Run every app for ``duration_s`` seconds; return the combined index page."""
    from mediagrid.report.index import write_index  # noqa: PLC0415

    out_dir = Path(out_dir or Path("runs") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}")
    out_dir.mkdir(parents=True, exist_ok=True)
    apps = demo_apps()
    bootstrap, broker = embedded_bootstrap()
    print(f"demo: broker {bootstrap}{' (started here)' if broker else ' (reused)'}; runs in {out_dir}")
    finished: list[Path] = []
    failed: list[str] = []  # apps that exited non-zero
    try:
        for number, app in enumerate(apps, start=1):
            if app.prepare is not None:
                print(f"demo [{number}/{len(apps)}] {app.name}: preparing ...", flush=True)
                app.prepare(app.config)
            print(f"demo [{number}/{len(apps)}] {app.name}: {duration_s:g} s"
                  f"{' of traffic once it has joined its consumer group' if app.kafka else ''} ...", flush=True)
            run_dir = out_dir / app.name
            code = _run(app, bootstrap, duration_s, run_dir)
            if (run_dir / "summary.json").exists():
                finished.append(run_dir)
            if code != 0:
                failed.append(f"{app.name} (exit {code})")
    finally:
        if broker is not None:
            broker.stop()
    outputs = {a.name: [out_dir / a.name / f for f in a.outputs if (out_dir / a.name / f).exists()] for a in apps}
    index, table = write_index(out_dir, finished, outputs)
    print(table)
    for name, files in outputs.items():
        for path in files:
            print(f"  {name}: {path}")
    print(f"demo report: {index}")
    if failed:
        raise MediagridError(f"demo: these apps did not finish cleanly: {', '.join(map(str, failed))}")
    return index
