"""The live control plane's decisions, as plain logic over a clock the caller passes in.

It folds node heartbeats into the :class:`GridState` (a site is as healthy as its best live node; a site
with no live node is ``down``), answers placement requests with the same policy code the simulator runs,
picks the least-loaded live node at the chosen site, and re-places every session of a node that announced
``down`` or whose heartbeats stopped for two of its intervals. :mod:`mediagrid.grid.serve` feeds it from
Kafka; tests drive it directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediagrid.grid.placement import SessionRequest, make_policy
from mediagrid.grid.state import GridState
from mediagrid.grid.topology import Topology

MISSED_BEATS = 2
_HEALTH_ORDER = ("healthy", "degraded", "down")


@dataclass
class Node:
    node_id: str
    site: str
    interval_s: float
    last_seen_s: float
    health: str = "healthy"
    utilization: float = 0.0
    sessions: set[str] = field(default_factory=set)

    @property
    def alive(self) -> bool:
        return self.health != "down"


@dataclass(frozen=True)
class Placement:
    """One decision to publish on ``mg.grid.placements``."""

    session_id: str
    site: str
    node_id: str
    strategy: str
    reasons: tuple[str, ...]
    predicted_latency_ms: float

    def message(self, ts_ms: int) -> dict[str, Any]:
        return {"v": 1, "ts_ms": ts_ms, "session_id": self.session_id, "site": self.site, "node_id": self.node_id,
                "strategy": self.strategy, "reasons": list(self.reasons)[:16],
                "predicted_latency_ms": round(self.predicted_latency_ms, 3)}


class ControlPlane:
    def __init__(self, topology: Topology, strategy: str = "grid") -> None:
        self.topology = topology
        self.strategy = strategy
        self.policy = make_policy(strategy, topology)
        self.state = GridState(topology)
        self.nodes: dict[str, Node] = {}
        self.requests: dict[str, SessionRequest] = {}
        self.session_node: dict[str, str] = {}
        self.unplaced: dict[str, str] = {}  # session -> why no site could take it
        for site in topology.site_index:
            self.state.observe(site, health="down")  # no node has spoken for it yet

    # -- inputs ------------------------------------------------------------------------------------
    def heartbeat(self, status: dict[str, Any], now_s: float) -> list[Placement]:
        """Fold in one node-status message; a node that announces ``down`` has its sessions moved now."""
        site = status["site"]
        if site not in self.topology.site_index:
            return []  # a node of another grid, or of a site this topology does not know
        node = self.nodes.get(status["node_id"])
        if node is None or node.site != site:
            node = self.nodes[status["node_id"]] = Node(status["node_id"], site,
                                                        status.get("interval_ms", 1000.0) / 1000, now_s)
        node.last_seen_s = now_s
        node.interval_s = status.get("interval_ms", node.interval_s * 1000) / 1000
        node.utilization = status["utilization"]
        was_alive, node.health = node.alive, status["health"]
        self._refresh_site(site)
        if was_alive and not node.alive:
            return self._evacuate(node, f"node {node.node_id} announced it is going down")
        return []

    def request(self, request: dict[str, Any]) -> Placement | None:
        """Place (or keep) one session; None when no site qualifies (the reasons are in :attr:`unplaced`)."""
        use_case = request.get("use_case") or next(iter(self.topology.use_cases))  # the first one declared
        session = SessionRequest(request["session_id"], request["region"], use_case,
                                 float(request.get("rate_rps", 1.0)))
        self.requests[session.session_id] = session
        return self._place(session, ())

    def tick(self, now_s: float) -> list[Placement]:
        """Declare lost every live node silent for two of its heartbeat intervals, and move its sessions."""
        moved: list[Placement] = []
        for node in self.nodes.values():
            silent = now_s - node.last_seen_s
            if node.alive and silent > MISSED_BEATS * node.interval_s:
                node.health = "down"
                self._refresh_site(node.site)
                moved += self._evacuate(node, f"node {node.node_id} missed its heartbeats: silent {silent:.2f} s "
                                              f"> {MISSED_BEATS} x {node.interval_s:g} s")
        return moved

    # -- decisions ---------------------------------------------------------------------------------
    def _refresh_site(self, site: str) -> None:
        live = [n for n in self.nodes.values() if n.site == site and n.alive]
        health = min((n.health for n in live), key=_HEALTH_ORDER.index, default="down")
        utilization = sum(n.utilization for n in live) / len(live) if live else None
        self.state.observe(site, health=health, utilization=utilization)

    def _evacuate(self, node: Node, why: str) -> list[Placement]:
        moved = []
        for session_id in sorted(node.sessions):
            self.state.detach(session_id)
            self.session_node.pop(session_id, None)
            placement = self._place(self.requests[session_id], (f"re-placed: {why}",))
            if placement is not None:
                moved.append(placement)
        node.sessions.clear()
        return moved

    def _place(self, session: SessionRequest, extra: tuple[str, ...]) -> Placement | None:
        decision = self.policy.place(session, self.state)
        if decision.site is None:
            self.unplaced[session.session_id] = decision.why
            return None
        node = min((n for n in self.nodes.values() if n.site == decision.site and n.alive),
                   key=lambda n: (len(n.sessions), n.utilization, n.node_id))
        previous = self.session_node.get(session.session_id)
        if previous is not None and previous != node.node_id and previous in self.nodes:
            self.nodes[previous].sessions.discard(session.session_id)
        self.state.attach(session.session_id, decision.site_index, session.rate_rps)
        node.sessions.add(session.session_id)
        self.session_node[session.session_id] = node.node_id
        self.unplaced.pop(session.session_id, None)
        return Placement(session.session_id, decision.site, node.node_id, self.strategy,
                         (*extra, *decision.reasons), decision.predicted_latency_ms or 0.0)
