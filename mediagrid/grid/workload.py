"""A simulation workload (``--workload FILE``), loaded and checked like every other config file.

Errors come out as the config layer's located issues (``FILE:LINE:COL: field.path: message``), including
references that only the topology can resolve: region, use case and site ids.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from mediagrid.config import ConfigError, ConfigIssue
from mediagrid.config.checks import unit_issues
from mediagrid.config.document import Document
from mediagrid.config.messages import did_you_mean, schema_issues
from mediagrid.config.schema import apply_defaults
from mediagrid.config.yaml_loader import load_document
from mediagrid.grid.topology import Topology
from mediagrid.scheduler.deadline import Policy

WORKLOAD_SCHEMA = "workload.schema.json"
#: A larger workload is refused: the simulator keeps every request in memory (~10^2 bytes each).
MAX_REQUESTS = 10_000_000


@dataclass(frozen=True, slots=True)
class Burst:
    """Session arrivals in ``regions`` (every region when empty) times ``factor`` during the window."""

    start_s: float
    duration_s: float
    factor: float
    regions: tuple[str, ...] = ()

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """A placement strategy to simulate, limited to the site pool ``sites`` (None: every site)."""

    name: str
    sites: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class AdmissionSpec:
    """The node scheduler's admission control at every site (see :func:`mediagrid.scheduler.admit`)."""

    enabled: bool
    policy: Policy
    quantile: float
    degraded_cost: float


@dataclass(frozen=True)
class Workload:
    seed: int
    duration_s: float
    service_cv: float
    arrivals_per_s: Mapping[str, float]  # new sessions per second, by region id (every region listed)
    mean_session_s: float
    requests_per_s: float  # per session
    use_cases: Mapping[str, float]  # share of sessions, summing to 1
    bursts: tuple[Burst, ...]
    admission: AdmissionSpec
    placement_quantile: float
    strategies: tuple[StrategySpec, ...]
    source: str | None = None  # the file it came from

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], topology: Topology, source: str | None = None) -> Workload:
        """From a document that passed the schema and :func:`reference_issues`, with defaults filled in."""
        sessions, admission = data["sessions"], data["admission"]
        arrivals = {r.id: float(sessions["region_arrivals_per_s"].get(r.id, sessions["arrivals_per_s"]))
                    for r in topology.regions}
        weights = sessions.get("use_cases") or {name: 1.0 for name in topology.use_cases}
        total = sum(weights.values())
        return cls(
            seed=data["seed"], duration_s=float(data["duration_s"]), service_cv=float(data["service_cv"]),
            arrivals_per_s=MappingProxyType(arrivals), mean_session_s=float(sessions["mean_duration_s"]),
            requests_per_s=float(sessions["requests_per_s"]),
            use_cases=MappingProxyType({name: w / total for name, w in weights.items()}),
            bursts=tuple(Burst(float(b["start_s"]), float(b["duration_s"]), float(b["factor"]),
                               tuple(b.get("regions", ()))) for b in data["bursts"]),
            admission=AdmissionSpec(admission["enabled"], Policy(admission["policy"]), float(admission["quantile"]),
                                    float(admission["degraded_cost"])),
            placement_quantile=float(data["placement"]["quantile"]),
            strategies=tuple(StrategySpec(s["name"], tuple(s["sites"]) if "sites" in s else None)
                             for s in data["strategies"]),
            source=source,
        )

    def expected_requests(self) -> float:
        """Requests the traffic will hold on average: sessions in steady state (bursts included) times
        their request rate, over the run."""
        session_seconds = 0.0
        for region, rate in self.arrivals_per_s.items():
            extra = sum((b.factor - 1.0) * b.duration_s for b in self.bursts if not b.regions or region in b.regions)
            session_seconds += rate * (self.duration_s + extra) * min(self.mean_session_s, self.duration_s)
        return session_seconds * self.requests_per_s


def load_workload(path: str | os.PathLike[str], topology: Topology) -> Workload:
    """The workload file at ``path`` for ``topology``; :class:`ConfigError` lists every issue, located."""
    doc = load_document(path)
    issues = schema_issues(doc, WORKLOAD_SCHEMA) + unit_issues(doc) + reference_issues(doc, topology)
    if issues:
        raise ConfigError(doc.sort(issues))
    workload = Workload.from_dict(apply_defaults(doc.data, WORKLOAD_SCHEMA), topology, os.fspath(path))
    if (expected := workload.expected_requests()) > MAX_REQUESTS:
        raise ConfigError([doc.issue(("sessions",), f"this workload makes about {expected:,.0f} requests; the "
                                                    f"simulator takes at most {MAX_REQUESTS:,}", key=True)])
    return workload


def default_workload(topology: Topology) -> Workload:
    """The workload of an empty file: every default of the schema."""
    return Workload.from_dict(apply_defaults({}, WORKLOAD_SCHEMA), topology)


def reference_issues(doc: Document, topology: Topology) -> list[ConfigIssue]:
    """Ids that ``topology`` does not know, strategies listed twice, bursts that start after the end.

    Values of the wrong type are skipped: the schema has reported them already.
    """
    data = doc.data
    regions, sites = list(topology.region_index), list(topology.site_index)
    issues: list[ConfigIssue] = []

    def unknown(path: tuple[str | int, ...], value: object, known: list[str], what: str, *, key: bool = False) -> None:
        if isinstance(value, str) and value not in known:
            hint = did_you_mean(value, known) or f"; known: {', '.join(known[:8])}{', ...' if len(known) > 8 else ''}"
            issues.append(doc.issue(path, f"unknown {what} '{value}'{hint}", key=key))

    sessions = _mapping(data.get("sessions"))
    for region in _mapping(sessions.get("region_arrivals_per_s")):
        unknown(("sessions", "region_arrivals_per_s", region), region, regions, "region", key=True)
    for name in _mapping(sessions.get("use_cases")):
        unknown(("sessions", "use_cases", name), name, list(topology.use_cases), "use case", key=True)
    duration = data.get("duration_s", 60)
    for index, burst in _items(data.get("bursts"), dict):
        for j, region in _items(burst.get("regions"), str):
            unknown(("bursts", index, "regions", j), region, regions, "region")
        start = burst.get("start_s")
        if _number(start) and _number(duration) and start >= duration:
            issues.append(doc.issue(("bursts", index, "start_s"),
                                    f"starts at {start} s, after the simulation ends (duration_s {duration})"))
    seen: dict[str, int] = {}
    for index, strategy in _items(data.get("strategies"), dict):
        name = strategy.get("name")
        if isinstance(name, str):
            if name in seen:
                issues.append(doc.issue(("strategies", index, "name"),
                                        f"strategy '{name}' is listed twice (first as strategies[{seen[name]}])"))
            seen.setdefault(name, index)
        for j, site in _items(strategy.get("sites"), str):
            unknown(("strategies", index, "sites", j), site, sites, "site")
    return issues


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: object, kind: type) -> list[tuple[int, Any]]:
    """``(index, item)`` for the items of a list that are of ``kind``."""
    return [(i, v) for i, v in enumerate(value) if isinstance(v, kind)] if isinstance(value, list) else []


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
