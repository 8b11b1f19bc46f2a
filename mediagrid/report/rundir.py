"""Opening a run directory: the validated ``summary.json`` plus where its per-item events and snapshots are.

The summary is checked against the packaged schema before anything else reads it, so every later module can
index it without defensive code, and a broken file is reported once, with its path, instead of as a
``KeyError`` deep inside the plotting code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from mediagrid.config.schema import load_schema
from mediagrid.report.errors import RunDirectoryError

SUMMARY = "summary.json"
EVENTS = "events.jsonl"
SCHEMA = "run-summary.schema.json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class RunDir:
    """One run directory, its summary already validated."""

    path: Path
    summary: dict[str, Any]
    events: Path | None  # None when the run left no events.jsonl (plots that need items say so)
    snapshots: tuple[Path, ...]  # PNG frames an app saved into the directory, by name


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema(SCHEMA))


def load_run(path: Path) -> RunDir:
    """Open ``path`` as a run directory; raise :class:`RunDirectoryError` naming the file that is wrong."""
    path = Path(path)
    if not path.is_dir():
        raise RunDirectoryError(f"{path}: no such run directory")
    summary_path = path / SUMMARY
    if not summary_path.is_file():
        raise RunDirectoryError(f"{summary_path}: missing; a run directory is what "
                                "'mediagrid run CONFIG --out DIR' writes")
    summary = _read_summary(summary_path)
    events = path / EVENTS
    return RunDir(path=path, summary=summary, events=events if events.is_file() else None,
                  snapshots=tuple(sorted(p for p in path.glob("*.png") if _is_png(p))))


def _read_summary(path: Path) -> dict[str, Any]:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunDirectoryError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirectoryError(f"{path}: cannot be read: {exc}") from None
    errors = sorted(_validator().iter_errors(summary), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"{path}: {e.json_path.removeprefix('$.') if e.absolute_path else '(top level)'}: {e.message}"
                 for e in errors]
        raise RunDirectoryError("\n".join(lines))
    return summary


def _is_png(path: Path) -> bool:
    """Only real PNG files are embedded: a stray file named ``*.png`` must not become a broken image."""
    try:
        with path.open("rb") as f:
            return f.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
    except OSError:
        return False
