"""The grid as typed, immutable values, built from a topology file that the config layer has validated.

Besides the dataclasses that a reader (and the reasons of a placement) refer to, :class:`Topology` keeps
per-site numpy columns and per-(use case) sovereignty masks, because placement evaluates every reachable
site for every session: the simulator places ~10^5 sessions over up to 1,000 sites.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np

from mediagrid.config import load_topology
from mediagrid.config.topology_checks import SITE_JURISDICTION_KEY, SOVEREIGNTY_KINDS, jurisdiction_allowed
from mediagrid.runtime.clock import ms_to_ns

#: Site health, in the order of its integer code in :attr:`Topology.health`.
HEALTH = ("healthy", "degraded", "down")
#: The use case of every session when the topology declares none.
DEFAULT_USE_CASE = "default"


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Quota:
    """Caps on what the grid may place on a site; None means no cap."""

    max_sessions: int | None = None
    max_gpus: int | None = None


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    location: Location
    jurisdiction: str  # where session data is processed
    model_jurisdiction: str  # where the served model is hosted and governed
    log_jurisdiction: str  # where logs and traces go
    gpus: int
    service_rate_per_gpu: float  # items per second per GPU
    cost_per_gpu_hour: float
    health: str  # as configured; the live value is in GridState
    quota: Quota = Quota()

    @property
    def servers(self) -> int:
        """GPUs the grid may use here: the site's GPUs, capped by its quota."""
        cap = self.quota.max_gpus
        return self.gpus if cap is None else min(self.gpus, cap)

    @property
    def cost_per_item(self) -> float:
        """GPU cost of serving one item (per-hour price over the items one GPU serves in an hour)."""
        return self.cost_per_gpu_hour / (3600.0 * self.service_rate_per_gpu)

    def jurisdiction_of(self, kind: str) -> str:
        """Where this site keeps ``kind`` (``data``, ``model`` or ``logs``)."""
        return str(getattr(self, SITE_JURISDICTION_KEY[kind]))


@dataclass(frozen=True, slots=True)
class Region:
    """Where viewers connect from, with the round-trip time to each site they can reach."""

    id: str
    jurisdiction: str
    rtt_ms: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class UseCase:
    """Requirements of a session: its requests' latency SLA, and where its data, model and logs may be
    (None: anywhere)."""

    name: str
    sla_ms: float
    data: frozenset[str] | None = None
    model: frozenset[str] | None = None
    logs: frozenset[str] | None = None

    def allowed(self, kind: str) -> frozenset[str] | None:
        """The rule for ``kind`` (``data``, ``model`` or ``logs``)."""
        rule: frozenset[str] | None = getattr(self, kind)
        return rule


@dataclass(frozen=True, eq=False)
class Topology:
    """Sites, regions and use cases, plus column views for vectorised placement."""

    sla_ms: float
    sites: tuple[Site, ...]
    regions: tuple[Region, ...]
    use_cases: Mapping[str, UseCase]
    jurisdiction_groups: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Topology:
        """The topology file at ``path``; :class:`~mediagrid.config.ConfigError` lists every issue."""
        return cls.from_dict(load_topology(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Topology:
        """From a document that passed the topology schema and checks (``load_topology``)."""
        sla = float(data["sla_ms"])
        sites = tuple(
            Site(id=s["id"], location=Location(**s["location"]), gpus=s["gpus"],
                 **{key: s.get(key, s["jurisdiction"]) for key in SITE_JURISDICTION_KEY.values()},
                 service_rate_per_gpu=float(s["service_rate_per_gpu"]),
                 cost_per_gpu_hour=float(s["cost_per_gpu_hour"]), health=s["health"],
                 quota=Quota(**s.get("quota", {})))
            for s in data["sites"])
        regions = tuple(Region(r["id"], r["jurisdiction"], MappingProxyType(dict(r["rtt_ms"])))
                        for r in data["regions"])
        declared = data.get("use_cases") or {DEFAULT_USE_CASE: {}}
        use_cases = {}
        for name, spec in declared.items():
            rules = spec.get("sovereignty", {})
            use_cases[name] = UseCase(name, float(spec.get("sla_ms", sla)),
                                      **{k: frozenset(rules[k]) for k in SOVEREIGNTY_KINDS if k in rules})
        groups = {name: tuple(members) for name, members in data.get("jurisdiction_groups", {}).items()}
        return cls(sla, sites, regions, MappingProxyType(use_cases), MappingProxyType(groups))

    # --- lookups ------------------------------------------------------------------------------------------

    @cached_property
    def site_index(self) -> Mapping[str, int]:
        return MappingProxyType({s.id: i for i, s in enumerate(self.sites)})

    @cached_property
    def region_index(self) -> Mapping[str, int]:
        return MappingProxyType({r.id: i for i, r in enumerate(self.regions)})

    @cached_property
    def central(self) -> int:
        """The one big site (most GPUs; the first of equals), which the ``central`` strategy always uses."""
        return int(np.argmax(self.gpus))

    # --- per-site columns ---------------------------------------------------------------------------------

    @cached_property
    def gpus(self) -> np.ndarray:
        return _readonly(np.array([s.gpus for s in self.sites], dtype=np.int64))

    @cached_property
    def servers(self) -> np.ndarray:
        """GPUs the grid may use per site (quota applied)."""
        return _readonly(np.array([s.servers for s in self.sites], dtype=np.int64))

    @cached_property
    def service_rate(self) -> np.ndarray:
        """Items per second per GPU."""
        return _readonly(np.array([s.service_rate_per_gpu for s in self.sites], dtype=np.float64))

    @cached_property
    def cost_per_gpu_hour(self) -> np.ndarray:
        return _readonly(np.array([s.cost_per_gpu_hour for s in self.sites], dtype=np.float64))

    @cached_property
    def cost_per_item(self) -> np.ndarray:
        return _readonly(np.array([s.cost_per_item for s in self.sites], dtype=np.float64))

    @cached_property
    def health(self) -> np.ndarray:
        """Configured health codes (index into :data:`HEALTH`)."""
        return _readonly(np.array([HEALTH.index(s.health) for s in self.sites], dtype=np.int8))

    @cached_property
    def max_sessions(self) -> np.ndarray:
        """Session quota per site; a very large number where there is none."""
        big = np.iinfo(np.int64).max
        return _readonly(np.array([big if s.quota.max_sessions is None else s.quota.max_sessions
                                   for s in self.sites], dtype=np.int64))

    @cached_property
    def rtt_ns(self) -> np.ndarray:
        """Round-trip time region x site in nanoseconds; -1 where the region cannot reach the site."""
        table = np.full((len(self.regions), len(self.sites)), -1, dtype=np.int64)
        for r, region in enumerate(self.regions):
            for site, ms in region.rtt_ms.items():
                table[r, self.site_index[site]] = ms_to_ns(ms)
        return _readonly(table)

    def reach(self, region: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the sites that ``region`` reaches and their RTTs in ns, in site order."""
        return self._reach[region]

    @cached_property
    def _reach(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        out = []
        for row in self.rtt_ns:
            sites = _readonly(np.flatnonzero(row >= 0))
            out.append((sites, _readonly(row[sites].copy())))
        return tuple(out)

    # --- sovereignty --------------------------------------------------------------------------------------

    def violations(self, use_case: str, site: int) -> list[str]:
        """Why ``site`` may not hold ``use_case``'s sessions: one text per broken rule (empty: it may)."""
        rules, where = self.use_cases[use_case], self.sites[site]
        out = []
        for kind in SOVEREIGNTY_KINDS:
            allowed = rules.allowed(kind)
            place = where.jurisdiction_of(kind)
            if allowed is not None and not jurisdiction_allowed(place, allowed, self.jurisdiction_groups):
                out.append(f"{kind} must stay in {', '.join(sorted(allowed))}; the site keeps its {kind} in {place}")
        return out

    def sovereign(self, use_case: str) -> np.ndarray:
        """Per site: may it hold ``use_case``'s sessions (data, model and logs all inside the rules)?"""
        return self._sovereign[use_case]

    @cached_property
    def _sovereign(self) -> Mapping[str, np.ndarray]:
        return MappingProxyType({
            name: _readonly(np.array([not self.violations(name, i) for i in range(len(self.sites))], dtype=bool))
            for name in self.use_cases})

