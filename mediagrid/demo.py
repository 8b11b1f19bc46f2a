"""``mediagrid demo``: every use case end to end on embedded defaults, then one combined report.

Embedded broker (started, or reused when one already answers on 127.0.0.1:19092), broadcaster traffic from
the football scenario published while the Kafka-fed apps run, generated media, one run directory per app
(each a ``mediagrid run`` subprocess, so one app's crash cannot take the others down) and an index page.
"""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mediagrid.errors import MediagridError
from mediagrid.kafka.brokers import embedded_bootstrap

SCENARIO = "configs/scenarios/football-match.yaml"
#: Traffic starts this long after a Kafka-fed app is launched: its start-up and consumer-group join (half a
#: session timeout on Tansu) would otherwise make the first seconds of messages late before they are read.
WARMUP_S = 4.0


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
    from mediagrid.services.triton import TritonError, server_dir, triton_venv  # noqa: PLC0415

    try:
        server_dir(triton_venv())
    except TritonError:
        return False
    return True


def _warm_recsys_index(config_path: str) -> None:
    """Build the recommendation index into its cache before the timed run: a first build takes longer than
    the app's window, which would then see none of the traffic published for it."""
    from mediagrid.config import load_app_config  # noqa: PLC0415
    from mediagrid.services.catalog import CatalogSpec, generate_catalog  # noqa: PLC0415
    from mediagrid.services.index_store import IndexSpec, IndexStore  # noqa: PLC0415

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


def _publish(bootstrap: str, duration_s: float, errors: list[BaseException]) -> None:
    from mediagrid.scenarios import produce  # noqa: PLC0415

    time.sleep(WARMUP_S)
    try:
        produce(SCENARIO, bootstrap, duration_s, None, None, None, progress=False)
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(exc)


def _run(app: DemoApp, bootstrap: str, duration_s: float, out_dir: Path) -> int:
    import subprocess  # noqa: PLC0415

    args = [sys.executable, "-m", "mediagrid.cli", "run", app.config, "--duration", f"{duration_s:g}",
            "--out", str(out_dir), "--no-progress"]
    for override in (*app.overrides, *((f"kafka.bootstrap={bootstrap}",) if app.kafka else ())):
        args += ["--set", override.format(run_dir=out_dir)]
    return subprocess.run(args, check=False).returncode


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
            print(f"demo [{number}/{len(apps)}] {app.name}: {duration_s:g} s ...", flush=True)
            errors: list[BaseException] = []
            publisher = None
            if app.kafka:
                publisher = threading.Thread(target=_publish, args=(bootstrap, duration_s, errors), daemon=True)
                publisher.start()
            run_dir = out_dir / app.name
            code = _run(app, bootstrap, duration_s + (WARMUP_S + 1 if app.kafka else 0), run_dir)
            if publisher is not None:
                publisher.join(duration_s + 30)
            if errors:
                print(f"demo: publishing traffic failed: {errors[0]}", file=sys.stderr)
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
