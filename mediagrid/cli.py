"""The ``mediagrid`` command. Contract: docs/architecture.md, section 6.1.

Every failure the user can cause ends in one readable message on stderr and a non-zero exit code
(2 for bad input, see ``mediagrid.errors``), never in a traceback.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mediagrid import logs
from mediagrid.errors import MediagridError, NotAvailableError, UsageError

PENDING = {  # contract commands whose implementation lands with a later issue
}


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediagrid", description="Deadline-aware media personalization "
                                     "on Holoscan edge nodes.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check config files; one located line per error")
    p.add_argument("paths", nargs="+", metavar="PATH")

    p = sub.add_parser("run", help="run the app that a config names and write DIR/summary.json")
    p.add_argument("config", metavar="CONFIG")
    p.add_argument("--duration", type=_positive(float), metavar="S", help="stop after S seconds")
    p.add_argument("--frames", type=_positive(int), metavar="N", help="stop after N items")
    p.add_argument("--out", type=Path, metavar="DIR", help="run directory (default runs/APP-TIMESTAMP)")
    p.add_argument("--device", choices=("auto", "cpu", "gpu"), help="override the config's device")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a config value, e.g. --set source.fps=30 (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    p.add_argument("--metrics-port", type=_positive(int), metavar="P",
                   help="serve Prometheus metrics on /metrics at this port during the run")
    p.add_argument("--metrics-host", default="127.0.0.1", metavar="ADDR",
                   help="address for --metrics-port (default 127.0.0.1; 0.0.0.0 to let a remote Prometheus in)")

    p.add_argument("--http-port", type=_positive(int), metavar="P",
                   help="serve the HLS output (sink.kind hls) and the player page on this port while running")
    p.add_argument("--http-host", default="127.0.0.1", metavar="ADDR",
                   help="address for --http-port (default 127.0.0.1; 0.0.0.0 for every interface)")

    p = sub.add_parser("serve", help="serve an HLS directory and the player page (Ctrl-C stops)")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--port", type=_positive(int), default=8080)
    p.add_argument("--host", default="127.0.0.1")

    p = sub.add_parser("broker", help="run the embedded Kafka-compatible broker in the foreground")
    p.add_argument("--port", type=_positive(int), default=19092)
    p.add_argument("--engine", choices=("tansu", "kafka"), default="tansu")

    p = sub.add_parser("produce", help="publish broadcaster traffic from a scenario file")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--bootstrap", required=True, metavar="HOST:PORT")
    p.add_argument("--duration", type=_positive(float), metavar="S")
    p.add_argument("--rate", type=_positive(float), metavar="R")
    p.add_argument("--seed", type=int, metavar="N")
    p.add_argument("--malformed-every", type=_positive(int), metavar="K")

    p = sub.add_parser("report", help="write DIR/report.html and DIR/report.md; with two DIRs, compare "
                       "(exit 1 on a regression)")
    p.add_argument("dirs", nargs="+", metavar="DIR")

    p = sub.add_parser("simulate", help="discrete-event grid simulation per placement strategy")
    p.add_argument("topology", metavar="TOPOLOGY")
    p.add_argument("--workload", metavar="FILE")
    p.add_argument("--out", type=Path, metavar="DIR")

    p = sub.add_parser("grid", help="the grid control plane")
    grid = p.add_subparsers(dest="grid_command", required=True, metavar="ACTION")
    p = grid.add_parser("serve", help="place sessions from heartbeats and requests on Kafka; re-place the sessions of lost nodes")
    p.add_argument("topology", metavar="TOPOLOGY")
    p.add_argument("--bootstrap", required=True, metavar="HOST:PORT")
    p.add_argument("--strategy", choices=("grid", "nearest", "central", "random"), default="grid")

    p = sub.add_parser("speech-server", help="run the embedded Riva-compatible speech server in the foreground")
    p.add_argument("--port", type=_positive(int), default=50051)
    p.add_argument("--host", default="127.0.0.1")

    p = sub.add_parser("demo", help="embedded end-to-end run of every use case")
    p.add_argument("--duration", type=_positive(float), metavar="S")
    p.add_argument("--out", type=Path, metavar="DIR")
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    from mediagrid.config import validate_file  # noqa: PLC0415

    failed = 0
    for path in args.paths:
        issues = validate_file(path)
        for issue in issues:
            print(issue, file=sys.stderr)
        failed += bool(issues)
    valid = len(args.paths) - failed
    print(f"{valid} of {len(args.paths)} file(s) valid")
    return 2 if failed else 0


def _print_run_summary(summary: dict[str, Any], out_dir: Path) -> None:
    e2e = summary["end_to_end"]
    print(f"{summary['app']} on {summary['device']}: {e2e['count']} items in {summary['duration_s']:.1f} s, "
          f"stopped by {summary.get('stopped_by')}")
    print(f"  met {e2e['met']}  degraded {e2e['degraded']}  dropped {e2e['dropped']}  missed {e2e['missed']}  "
          f"miss rate {e2e['miss_rate']:.4%} (deadline {e2e['deadline_ms']} ms)")
    if e2e["count"]:
        print(f"  latency p50 {e2e['p50_ms']:.2f} ms  p99 {e2e['p99_ms']:.2f} ms  max {e2e['max_ms']:.2f} ms")
    print(f"  summary: {out_dir / 'summary.json'}")


def cmd_run(args: argparse.Namespace) -> int:
    from mediagrid.config import load_app_config  # noqa: PLC0415
    from mediagrid.runner import run_app  # noqa: PLC0415

    config = load_app_config(args.config, args.overrides)
    out_dir = args.out or Path("runs") / f"{config.app}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    summary = run_app(config, out_dir=out_dir, duration_s=args.duration, frames=args.frames,
                      device=args.device, show_progress=False if args.no_progress else None,
                      metrics_port=args.metrics_port, metrics_host=args.metrics_host,
                      http_port=args.http_port, http_host=args.http_host)
    if sys.stderr.isatty() and not args.no_progress:
        sys.stderr.write("\n")
    _print_run_summary(summary, out_dir)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from mediagrid.broadcast.serve import main_serve  # noqa: PLC0415

    return main_serve(args.dir, args.port, args.host)


def cmd_report(args: argparse.Namespace) -> int:
    from mediagrid.report import compare_runs, write_report  # noqa: PLC0415

    if len(args.dirs) > 2:
        raise UsageError("give one run directory, or two to compare (BASE NEW)")
    if len(args.dirs) == 1:
        html, _, table = write_report(Path(args.dirs[0]))
        print(table)
        print(f"report: {html}")
        return 0
    html, _, text, regressions = compare_runs(Path(args.dirs[0]), Path(args.dirs[1]))
    print(text)
    print(f"report: {html}")
    return 1 if regressions else 0


def cmd_produce(args: argparse.Namespace) -> int:
    from mediagrid.scenarios import produce  # noqa: PLC0415

    counts = produce(args.scenario, args.bootstrap, args.duration, args.rate, args.seed, args.malformed_every,
                     progress=sys.stderr.isatty())
    width = max(map(len, counts), default=0)
    for topic, count in counts.items():
        print(f"{topic:<{width}}  {count:>9,}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from mediagrid.demo import run_demo  # noqa: PLC0415

    run_demo(args.duration or 15.0, args.out)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from mediagrid.grid import simulate  # noqa: PLC0415

    out_dir = args.out or Path("runs") / f"simulate-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    summary = simulate(args.topology, args.workload, out_dir)
    print(f"{summary['requests']:,} requests, {summary['sessions']:,} sessions, SLA {summary['sla_ms']:g} ms")
    print(f"{'strategy':<10} {'goodput/s':>10} {'miss rate':>10} {'p99 ms':>8} {'util':>6} {'$/item':>10} "
          f"{'burst goodput/s':>16} {'burst miss':>11}")
    for name, s in summary["strategies"].items():
        o, b = s["outcomes"], s["burst"]
        burst = (f"{b['goodput_rps']:>16,.0f} {b['miss_rate']:>11.2%}" if b else f"{'-':>16} {'-':>11}")
        p99 = f"{o['p99_ms']:>8.1f}" if o["p99_ms"] is not None else f"{'-':>8}"
        print(f"{name:<10} {s['goodput_rps']:>10,.0f} {o['miss_rate']:>10.2%} {p99} {s['utilization']:>6.0%} "
              f"{s['cost']['per_item']:>10.2e} {burst}")
    print(f"summary: {Path(out_dir) / 'summary.json'}  plot: {Path(out_dir) / 'simulation.svg'}")
    return 0


def cmd_grid(args: argparse.Namespace) -> int:
    from mediagrid.grid.serve import serve_foreground  # noqa: PLC0415

    return serve_foreground(args.topology, args.bootstrap, args.strategy)


def cmd_speech_server(args: argparse.Namespace) -> int:
    from mediagrid.speech.riva_server import serve_foreground  # noqa: PLC0415

    return serve_foreground(args.port, args.host)


def cmd_broker(args: argparse.Namespace) -> int:
    from mediagrid.kafka import serve_foreground  # noqa: PLC0415

    return serve_foreground(args.engine, args.port)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logs.configure()
    commands = {"validate": cmd_validate, "run": cmd_run, "broker": cmd_broker, "report": cmd_report,
                "produce": cmd_produce, "demo": cmd_demo, "simulate": cmd_simulate,
                "grid": cmd_grid, "speech-server": cmd_speech_server, "serve": cmd_serve}
    try:
        if args.command in PENDING:
            raise NotAvailableError(f"'mediagrid {args.command}' is not available yet; it lands with "
                                    f"{PENDING[args.command]}")
        return commands[args.command](args)
    except MediagridError as exc:
        located = hasattr(exc, "issues")  # config errors are already "PATH:LINE:COL: field: message" lines
        print(exc if located else f"mediagrid {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"mediagrid {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
