"""Semantic checks that a schema cannot express: units, files on disk, and cross-field consistency.

They run on the document even when the schema found problems, so they tolerate values of the wrong type
(skipping them: the schema already reported those). Relative paths (``source.path``, ``sink.path``) are
resolved against the current working directory of the process, as a shell user expects from a command
line tool, not against the config file's folder; ``~`` is expanded.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mediagrid.config.ad_insertion_checks import ad_insertion_issues
from mediagrid.config.document import Document, FieldPath
from mediagrid.config.errors import ConfigIssue

#: A millisecond field above this (100 s) was almost certainly written in nanoseconds or microseconds.
MAX_PLAUSIBLE_MS = 1e5
#: A nanosecond field below this (1 µs) was almost certainly written in milliseconds.
MIN_PLAUSIBLE_NS = 1000


def path_of(value: str) -> Path:
    """A config path as the process will open it: ``~`` expanded, relative to the working directory."""
    return Path(value).expanduser()


def unit_issues(doc: Document) -> list[ConfigIssue]:
    """Non-finite numbers anywhere, and ``*_ms`` / ``*_ns`` values that look like the other unit.

    A mapping whose key ends in ``_ms`` (``rtt_ms: {site: ms}``) holds milliseconds in all its values.
    """
    issues: list[ConfigIssue] = []

    def walk(value: Any, path: FieldPath, unit: str | None) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*path, key), _unit(key) or (unit if isinstance(child, (int, float)) else None))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                walk(child, (*path, index), None)
        elif isinstance(value, float) and not math.isfinite(value):
            issues.append(doc.issue(path, f"must be a finite number, got {value}"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if unit == "ms" and value > MAX_PLAUSIBLE_MS:
                issues.append(doc.issue(path, f"{value} looks like nanoseconds; this field is in milliseconds"))
            elif unit == "ns" and 0 < value < MIN_PLAUSIBLE_NS:
                issues.append(doc.issue(path, f"{value} looks like milliseconds; this field is in nanoseconds"))

    walk(doc.data, (), None)
    return issues


def _unit(key: object) -> str | None:
    return next((u for u in ("ms", "ns") if isinstance(key, str) and key.endswith(f"_{u}")), None)


def app_issues(doc: Document, app: str | None) -> list[ConfigIssue]:
    """Every semantic issue of an app config; ``app`` selects the app's own checks (None: common only)."""
    issues = unit_issues(doc) + _media_issues(doc) + _kafka_issues(doc)
    for check in _APP_CHECKS.get(app or "", ()):
        issues += check(doc)
    return issues


def _section(doc: Document, name: str) -> dict[str, Any]:
    value = doc.data.get(name)
    return value if isinstance(value, dict) else {}


def _number(section: dict[str, Any], key: str) -> float | None:
    value = section.get(key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return value if ok else None


def _media_issues(doc: Document) -> list[ConfigIssue]:
    source, sink = _section(doc, "source"), _section(doc, "sink")
    issues = []
    source_file = source.get("path") if source.get("kind") == "file" and isinstance(source.get("path"), str) else None
    if source_file is not None:
        where = path_of(source_file)
        if not where.exists():
            issues.append(doc.issue(("source", "path"), f"file not found: {where.absolute()} (relative paths are "
                                                        f"resolved against the working directory {os.getcwd()})"))
        elif where.is_dir():
            issues.append(doc.issue(("source", "path"), f"{where.absolute()} is a directory; expected a media file"))
        elif not os.access(where, os.R_OK):
            issues.append(doc.issue(("source", "path"), f"{where.absolute()} is not readable (permission denied)"))
    sink_file = sink.get("path") if sink.get("kind") == "file" and isinstance(sink.get("path"), str) else None
    if sink_file is not None:
        where = path_of(sink_file)
        if where.is_dir():
            issues.append(doc.issue(("sink", "path"), f"{where.absolute()} is a directory; expected a file name"))
        elif source_file is not None and where.resolve() == path_of(source_file).resolve():
            issues.append(doc.issue(("sink", "path"), "the sink would overwrite the source file"))
    if sink_file is not None:  # h264/hevc encode 4:2:0 chroma, which needs even frame sizes
        for key in ("width", "height"):
            size = source.get(key)
            if isinstance(size, int) and not isinstance(size, bool) and size % 2:
                issues.append(doc.issue(("source", key), f"{size} is odd; the encoder needs an even frame size"))
    return issues


def _kafka_issues(doc: Document) -> list[ConfigIssue]:
    bootstrap = _section(doc, "kafka").get("bootstrap")
    if not isinstance(bootstrap, str) or bootstrap == "embedded":
        return []
    ports = [part.rpartition(":")[2] for part in bootstrap.split(",")]
    bad = [p for p in ports if p.isdigit() and not 1 <= int(p) <= 65535]
    return [doc.issue(("kafka", "bootstrap"), f"port {p} is out of range (1 to 65535)") for p in bad]


def _passthrough_issues(doc: Document) -> list[ConfigIssue]:
    """The region must lie inside the frame.

    An estimate above the frame budget is allowed on purpose: it is how a run forces the miss policy.
    """
    own, source = _section(doc, "passthrough"), _section(doc, "source")
    issues = []
    region = own.get("region") if isinstance(own.get("region"), dict) else {}
    for start, length, size in (("x", "w", "width"), ("y", "h", "height")):
        values = [_number(region, start), _number(region, length), _number(source, size)]
        if None not in values and values[0] + values[1] > values[2]:
            issues.append(doc.issue(("passthrough", "region", length),
                                    f"region {start}+{length} = {values[0] + values[1]:g} exceeds the frame "
                                    f"{size} {values[2]:g}"))
    return issues


_APP_CHECKS: dict[str, tuple[Callable[[Document], list[ConfigIssue]], ...]] = {
    "passthrough": (_passthrough_issues,),
    "ad_insertion": (ad_insertion_issues,),
}
