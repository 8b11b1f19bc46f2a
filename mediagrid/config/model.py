"""Typed, immutable views of a validated app config.

Built only from data that passed the schema and the semantic checks, with schema defaults already filled
in (see :func:`mediagrid.config.schema.apply_defaults`), so construction here cannot fail and does not
repeat any default.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mediagrid.config.checks import path_of

#: Top-level keys of the common schema; every other top-level key is an app's own section.
COMMON_SECTIONS = frozenset({"app", "node", "device", "kafka", "deadlines", "source", "sink"})


@dataclass(frozen=True)
class NodeConfig:
    """This edge node's identity in the grid, and how often it tells the control plane it is alive."""

    id: str
    site: str
    jurisdiction: str
    heartbeat_ms: float = 1000.0


@dataclass(frozen=True)
class KafkaConfig:
    """``bootstrap`` is ``"embedded"`` (start or reuse the embedded broker) or ``host:port[,host:port...]``."""

    bootstrap: str
    group: str
    topics: Mapping[str, str]
    max_queue: int = 10_000
    max_message_bytes: int = 1_048_576
    commit_interval_ms: float = 200.0
    fetch_max_wait_ms: int = 20
    session_timeout_ms: int = 10_000
    dead_letter_topic: str = "mg.dlq"
    auto_offset_reset: str = "earliest"


@dataclass(frozen=True)
class DeadlineConfig:
    """Per-item budgets in milliseconds by name (``frame`` for ``frame_ms``) and the miss policy."""

    budgets_ms: Mapping[str, float]
    policy: str

    def budget_ns(self, name: str) -> int:
        """The budget ``name`` (``"frame"`` for ``frame_ms``) in nanoseconds, for the monotonic clock."""
        if name not in self.budgets_ms:
            known = ", ".join(f"{n}_ms" for n in self.budgets_ms) or "none"
            raise KeyError(f"no deadline '{name}_ms' in the config (configured: {known})")
        return round(self.budgets_ms[name] * 1_000_000)


@dataclass(frozen=True)
class SourceConfig:
    """Frame source. For ``kind == "file"``, a missing fps/width/height (None) means: as in the file."""

    kind: str
    path: Path | None
    fps: float | None
    width: int | None
    height: int | None
    pattern: str
    loop: bool
    url: str | None = None
    live: Mapping[str, Any] = field(default_factory=dict)  # the section as validated: a live source's settings


@dataclass(frozen=True)
class SinkConfig:
    """Frame sink: ``"null"`` discards frames, ``"file"`` encodes them to ``path``, ``"hls"`` publishes live HLS
    in ``dir``, ``"live"`` pushes MPEG-TS to ``url``."""

    kind: str
    path: Path | None
    codec: str
    preset: str
    dir: Path | None = None
    segment_s: float = 2.0
    window: int = 6
    url: str | None = None


@dataclass(frozen=True)
class AppConfig:
    """A whole app config: common sections typed, the app's own sections as validated plain data."""

    path: Path
    app: str
    node: NodeConfig
    device: str
    kafka: KafkaConfig | None
    deadlines: DeadlineConfig
    source: SourceConfig | None
    sink: SinkConfig | None
    sections: Mapping[str, Any]
    raw: dict[str, Any]


def build_app_config(path: Path, data: Mapping[str, Any], raw: dict[str, Any]) -> AppConfig:
    """The typed config from validated ``data`` (defaults filled) and the document as written (``raw``)."""
    kafka, source, sink = data.get("kafka"), data.get("source"), data.get("sink")
    deadlines = data["deadlines"]
    return AppConfig(
        path=path,
        app=data["app"],
        node=NodeConfig(**data["node"]),
        device=data["device"],
        kafka=KafkaConfig(**{**kafka, "topics": MappingProxyType(dict(kafka["topics"]))}) if kafka else None,
        deadlines=DeadlineConfig(
            MappingProxyType({k.removesuffix("_ms"): float(v) for k, v in deadlines.items() if k.endswith("_ms")}),
            deadlines["policy"]),
        source=SourceConfig(
            kind=source["kind"], path=_path(source), fps=_opt(float, source.get("fps")),
            width=_opt(int, source.get("width")), height=_opt(int, source.get("height")),
            pattern=source["pattern"], loop=source["loop"], url=source.get("url"),
            live=MappingProxyType(dict(source) if source["kind"] == "live" else {})) if source else None,
        sink=SinkConfig(kind=sink["kind"], path=_path(sink), codec=sink["codec"], preset=sink["preset"],
                        dir=path_of(sink["dir"]) if "dir" in sink else None, segment_s=float(sink["segment_s"]),
                        window=int(sink["window"]), url=sink.get("url")) if sink else None,
        sections=MappingProxyType({k: v for k, v in data.items() if k not in COMMON_SECTIONS}),
        raw=raw,
    )


def _path(section: Mapping[str, Any]) -> Path | None:
    return path_of(section["path"]) if "path" in section else None


def _opt(cast: type, value: Any) -> Any:
    return None if value is None else cast(value)
