"""Session placement: which site runs a session, and why; the policy of the grid control plane and the
baselines it is compared with in the simulator.

Every strategy first applies the hard rules, which no strategy may break:

* the site is in the strategy's site pool and reachable from the session's region;
* sovereignty: the site keeps the session's data, model *and* logs inside the jurisdictions its use case
  allows (:meth:`~mediagrid.grid.topology.Topology.violations`);
* health: never a ``down`` site;
* quota: the site's session quota is not full (its GPU quota caps the servers that the latency model
  counts, see :attr:`~mediagrid.grid.topology.Site.servers`).

Then ``central`` takes the one big site, ``nearest`` the lowest RTT (ignoring load), ``random`` a seeded
draw, and ``grid`` (:class:`GridPolicy`) predicts each site's tail latency from its load
(:mod:`mediagrid.grid.queueing`), keeps the sites inside the use case's SLA, and picks:

1. the site holding the session's warm state, while it still qualifies (cache affinity);
2. else the cheapest qualifying site (GPU cost per item), lower predicted latency breaking ties;
3. ``degraded`` sites only when no healthy site qualifies: a degraded node is up but may be losing
   capacity or heartbeats, so it is the first fallback, not a peer;
4. when no site predicts inside the SLA, best effort: the lowest predicted latency, healthy first. The
   node's admission control then turns the overload into counted drops instead of a silent miss.

Each decision carries its reasons and, per rejected site, why it lost; they are built only when read,
since the simulator makes ~10^5 decisions and reads none.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from types import MappingProxyType

import numpy as np

from mediagrid.grid.queueing import LatencyModel
from mediagrid.grid.state import GridState
from mediagrid.grid.topology import DEFAULT_USE_CASE, HEALTH, Topology
from mediagrid.runtime.clock import ns_to_ms

STRATEGIES = ("central", "nearest", "random", "grid")
HEALTHY, DOWN = HEALTH.index("healthy"), HEALTH.index("down")
#: Limits of the ``reasons`` list that the control plane publishes (``mg.grid.placements``).
MAX_REASONS, MAX_REASON_CHARS = 16, 200


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """A session to place: who, from where, what it needs, and how many requests per second it will send."""

    session_id: Hashable
    region: str
    use_case: str = DEFAULT_USE_CASE
    rate_rps: float = 1.0


class Evidence:
    """Everything a strategy looked at for one session, over the sites its region reaches."""

    __slots__ = ("topology", "model", "session", "sites", "rtt_ns", "allowed", "health", "quota_full",
                 "eligible", "warm", "load_rps", "_latency_ns")

    def __init__(self, topology: Topology, model: LatencyModel, session: SessionRequest, sites: np.ndarray,
                 rtt_ns: np.ndarray, allowed: np.ndarray, state: GridState) -> None:
        self.topology, self.model, self.session = topology, model, session
        self.sites, self.rtt_ns, self.allowed = sites, rtt_ns, allowed
        self.health = state.health[sites]
        sessions = state.sessions[sites]
        self.load_rps = state.load_rps[sites] + session.rate_rps
        placed = state.placed(session.session_id)
        self.warm: int | None = None  # position in ``sites`` of the site holding the session's warm state
        if placed is not None:
            position = int(np.searchsorted(sites, placed[0]))
            if position < len(sites) and sites[position] == placed[0]:
                self.warm = position
                sessions = sessions.copy()
                sessions[position] -= 1  # the session does not compete with itself
                self.load_rps[position] -= session.rate_rps
        self.quota_full = sessions >= topology.max_sessions[sites]
        self.eligible = allowed & (self.health != DOWN) & ~self.quota_full
        self._latency_ns: np.ndarray | None = None

    @property
    def sla_ns(self) -> float:
        return self.topology.use_cases[self.session.use_case].sla_ms * 1e6

    @property
    def latency_ns(self) -> np.ndarray:
        """Predicted latency quantile at each site, with this session's load added."""
        if self._latency_ns is None:
            self._latency_ns = self.model.latency_ns(self.sites, self.rtt_ns, self.load_rps)
        return self._latency_ns

    def breakdown(self, position: int) -> str:
        """``p99 23.1 ms (RTT 4.0 + queue 2.1 + service 17.0)`` for the site at ``position``."""
        site = int(self.sites[position])
        rtt, service = float(self.rtt_ns[position]), float(self.model.service_ns[site])
        total = float(self.latency_ns[position])
        label = f"p{self.model.q * 100:g}"
        if not np.isfinite(total):
            return f"{label} unbounded: offered load exceeds its capacity"
        return (f"{label} {ns_to_ms(total):.1f} ms (RTT {ns_to_ms(rtt):.1f} + queue "
                f"{ns_to_ms(total - rtt - service):.1f} + service {ns_to_ms(service):.1f})")


@dataclass(frozen=True, eq=False)
class Decision:
    """Where a session goes (``site`` None: nowhere it may go) and why."""

    session_id: Hashable
    strategy: str
    position: int  # of the chosen site in ``evidence.sites``; -1 when no site may take the session
    why: str  # the deciding reason, one line
    evidence: Evidence = field(repr=False)
    #: Why the eligible site at a position in ``evidence.sites`` lost to the chosen one (called lazily).
    lost: Callable[[int], str] = field(repr=False)

    @property
    def site_index(self) -> int:
        """Index of the chosen site in the topology; -1 when rejected."""
        return -1 if self.position < 0 else int(self.evidence.sites[self.position])

    @property
    def site(self) -> str | None:
        return None if self.position < 0 else self.evidence.topology.sites[self.site_index].id

    @cached_property
    def predicted_latency_ms(self) -> float | None:
        """Predicted latency quantile at the chosen site (None when rejected or unbounded)."""
        if self.position < 0:
            return None
        value = float(self.evidence.latency_ns[self.position])
        return round(ns_to_ms(value), 3) if np.isfinite(value) else None

    @cached_property
    def rejected(self) -> Mapping[str, str]:
        """Site id -> why it was not chosen, for every site the session's region reaches."""
        ev, topology = self.evidence, self.evidence.topology
        out = {}
        for position, site in enumerate(ev.sites.tolist()):
            if position != self.position:
                out[topology.sites[site].id] = _hard_reason(ev, position) or self.lost(position)
        return MappingProxyType(out)

    @cached_property
    def reasons(self) -> tuple[str, ...]:
        """Why, for operators: the choice first, then the rejected sites grouped by reason (as published on
        ``mg.grid.placements``: at most 16 texts of at most 200 characters)."""
        ev = self.evidence
        lines = [self.why]
        if self.position >= 0:
            lines.append(f"predicted {ev.breakdown(self.position)} against the SLA of {ns_to_ms(ev.sla_ns):g} ms")
        groups: dict[str, list[str]] = {}
        for site, reason in self.rejected.items():
            groups.setdefault(reason, []).append(site)
        for reason, sites in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            lines.append(f"rejected {', '.join(sites)}: {reason}")
        unreachable = len(ev.topology.sites) - len(ev.sites)
        if unreachable:
            lines.append(f"{unreachable} site(s) not reachable from region {ev.session.region}")
        lines = [line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 3] + "..." for line in lines]
        return tuple(lines[: MAX_REASONS - 1] + [f"... and {len(lines) - MAX_REASONS + 1} more"]
                     if len(lines) > MAX_REASONS else lines)


def _hard_reason(ev: Evidence, position: int) -> str | None:
    """Why a site breaks a hard rule for this session, or None."""
    site = int(ev.sites[position])
    if not ev.allowed[position]:
        violations = ev.topology.violations(ev.session.use_case, site)
        return "sovereignty: " + "; ".join(violations) if violations else "not in this strategy's site pool"
    if ev.health[position] == DOWN:
        return "site is down"
    if ev.quota_full[position]:
        return f"session quota full ({ev.topology.sites[site].quota.max_sessions} sessions)"
    return None


class PlacementPolicy:
    """A strategy. ``sites`` limits it to a pool (default: every site); ``model`` predicts latency."""

    name = ""

    def __init__(self, topology: Topology, *, sites: Iterable[str] | None = None, model: LatencyModel | None = None):
        self.topology = topology
        self.model = model or LatencyModel(topology.servers, topology.service_rate)
        pool = np.ones(len(topology.sites), dtype=bool)
        if sites is not None:
            pool[:] = False
            pool[[topology.site_index[s] for s in sites]] = True
        self._pool = pool
        self._static: dict[tuple[int, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def place(self, session: SessionRequest, state: GridState) -> Decision:
        """Decide for ``session`` given ``state``; the caller attaches it to the chosen site."""
        region = self.topology.region_index[session.region]
        key = (region, session.use_case)
        static = self._static.get(key)
        if static is None:
            sites, rtt = self.topology.reach(region)
            allowed = self._pool[sites] & self.topology.sovereign(session.use_case)[sites]
            static = self._static[key] = (sites, rtt, allowed)
        evidence = Evidence(self.topology, self.model, session, *static, state)
        position, why, lost = self._choose(evidence)
        return Decision(session.session_id, self.name, position, why, evidence, lost)

    def _choose(self, ev: Evidence) -> tuple[int, str, Callable[[int], str]]:
        """Position in ``ev.sites`` of the chosen site (-1: none), the reason, and why an eligible other lost."""
        raise NotImplementedError

    def _site(self, ev: Evidence, position: int) -> str:
        return self.topology.sites[int(ev.sites[position])].id


def _always(reason: str) -> Callable[[int], str]:
    return lambda position: reason


_NONE_ELIGIBLE = "no site: every reachable site breaks a hard rule"
_NOT_ASKED = _always("")  # with no eligible site, every site has a hard reason and this is never asked


class CentralPolicy(PlacementPolicy):
    """Everything on the one big site (the pre-grid deployment)."""

    name = "central"

    def _choose(self, ev: Evidence) -> tuple[int, str, Callable[[int], str]]:
        central = self.topology.central
        big = self.topology.sites[central].id
        position = int(np.searchsorted(ev.sites, central))
        other = _always("not the central site")
        if position == len(ev.sites) or ev.sites[position] != central:
            return -1, f"no site: the central site {big} is not reachable from region {ev.session.region}", other
        if not ev.eligible[position]:
            return -1, f"no site: the central site {big} may not take it ({_hard_reason(ev, position)})", other
        return position, f"chose {big}: the central site", other


class NearestPolicy(PlacementPolicy):
    """Lowest RTT among the sites the hard rules allow, whatever their load."""

    name = "nearest"

    def _choose(self, ev: Evidence) -> tuple[int, str, Callable[[int], str]]:
        if not ev.eligible.any():
            return -1, _NONE_ELIGIBLE, _NOT_ASKED
        rtt = np.where(ev.eligible, ev.rtt_ns, np.iinfo(np.int64).max)
        position = int(np.argmin(rtt))
        return (position, f"chose {self._site(ev, position)}: lowest RTT ({ns_to_ms(float(rtt[position])):.1f} ms)",
                _always("farther (higher RTT)"))


class RandomPolicy(PlacementPolicy):
    """A seeded uniform draw among the sites the hard rules allow."""

    name = "random"

    def __init__(self, topology: Topology, *, sites: Iterable[str] | None = None, model: LatencyModel | None = None,
                 seed: int = 0) -> None:
        super().__init__(topology, sites=sites, model=model)
        self._rng = random.Random(seed)

    def _choose(self, ev: Evidence) -> tuple[int, str, Callable[[int], str]]:
        eligible = np.flatnonzero(ev.eligible)
        if not len(eligible):
            return -1, _NONE_ELIGIBLE, _NOT_ASKED
        position = int(eligible[self._rng.randrange(len(eligible))])
        return position, f"chose {self._site(ev, position)}: random draw", _always("not drawn")


class GridPolicy(PlacementPolicy):
    """SLA first, then affinity, then cost; see the module docstring for the order of preference."""

    name = "grid"

    def _choose(self, ev: Evidence) -> tuple[int, str, Callable[[int], str]]:
        if not ev.eligible.any():
            return -1, _NONE_ELIGIBLE, _NOT_ASKED
        latency = ev.latency_ns
        inside = ev.eligible & (latency <= ev.sla_ns)
        healthy = ev.health == HEALTHY
        cost = self.topology.cost_per_item[ev.sites]
        for tier, note in ((inside & healthy, ""), (inside, "; no healthy site fits, this one is degraded")):
            if not tier.any():
                continue
            if ev.warm is not None and tier[ev.warm]:
                return (ev.warm, f"stays on {self._site(ev, ev.warm)}: holds the session's warm state and still "
                        f"qualifies{note}", partial(_grid_lost, ev, ev.warm, inside, healthy, tier, cost))
            candidates = np.flatnonzero(tier)
            position = int(candidates[np.lexsort((latency[candidates], cost[candidates]))[0]])
            return (position, f"chose {self._site(ev, position)}: cheapest site inside the SLA "
                    f"(${cost[position] * 1000:.4f} per 1,000 items){note}",
                    partial(_grid_lost, ev, position, inside, healthy, tier, cost))
        fallback = ev.eligible & healthy if (ev.eligible & healthy).any() else ev.eligible
        candidates = np.flatnonzero(fallback)
        position = int(candidates[np.argmin(latency[candidates])])
        return (position, f"best effort on {self._site(ev, position)}: no site predicts inside the SLA of "
                f"{ns_to_ms(ev.sla_ns):g} ms; this one predicts the least",
                partial(_grid_lost, ev, position, inside, healthy, fallback, cost))


def _grid_lost(ev: Evidence, chosen: int, inside: np.ndarray, healthy: np.ndarray, tier: np.ndarray,
               cost: np.ndarray, position: int) -> str:
    """Why an eligible site lost under the grid policy (``tier``: the sites the choice was made among)."""
    if not inside[position]:
        return f"predicted {ev.breakdown(position)} exceeds the SLA of {ns_to_ms(ev.sla_ns):g} ms"
    if not tier[position] and not healthy[position]:
        return "degraded health while a healthy site qualifies"
    if chosen == ev.warm:
        return "the session's warm state is on the chosen site"
    if cost[position] > cost[chosen]:
        return f"qualifies, but costs ${cost[position] * 1000:.4f} per 1,000 items"
    return f"qualifies at the same cost, but predicts more: {ev.breakdown(position)}"


_POLICIES: dict[str, type[PlacementPolicy]] = {
    p.name: p for p in (CentralPolicy, NearestPolicy, RandomPolicy, GridPolicy)}


def make_policy(
    name: str, topology: Topology, *, sites: Iterable[str] | None = None, seed: int = 0,
    model: LatencyModel | None = None,
) -> PlacementPolicy:
    """The strategy ``name`` (one of :data:`STRATEGIES`) over ``topology``, limited to ``sites`` if given."""
    if name not in _POLICIES:
        raise ValueError(f"unknown placement strategy '{name}'; known: {', '.join(STRATEGIES)}")
    if name == "random":
        return RandomPolicy(topology, sites=sites, model=model, seed=seed)
    return _POLICIES[name](topology, sites=sites, model=model)
