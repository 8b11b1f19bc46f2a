"""What placement needs to know about the grid that changes over time, kept current by its caller.

The placement policy is pure: it reads a :class:`GridState` and returns a decision. The simulator updates
the state from its own decisions (:meth:`GridState.attach` / :meth:`GridState.detach`); the live control
plane does the same and also folds in node heartbeats (:meth:`GridState.observe`), so both run the same
policy on the same kind of state.
"""
from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from mediagrid.grid.topology import HEALTH, Topology


class GridState:
    """Per site: offered request rate, sessions placed, live health; per session: where it runs.

    A session's site also holds its warm state (caches, KV state, player context), which is what cache
    affinity in placement keeps it next to.
    """

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        n = len(topology.sites)
        self.load_rps = np.zeros(n, dtype=np.float64)
        self.sessions = np.zeros(n, dtype=np.int64)
        self.health = topology.health.copy()
        self._placed: dict[Hashable, tuple[int, float]] = {}

    def attach(self, session_id: Hashable, site: int, rate_rps: float) -> None:
        """``session_id`` now runs on ``site`` and sends ``rate_rps`` requests/s (moving it if it ran elsewhere)."""
        self.detach(session_id)
        self._placed[session_id] = (site, rate_rps)
        self.load_rps[site] += rate_rps
        self.sessions[site] += 1

    def detach(self, session_id: Hashable) -> int | None:
        """``session_id`` has ended (or moves); returns the site it ran on, None if it was not placed."""
        placed = self._placed.pop(session_id, None)
        if placed is None:
            return None
        site, rate = placed
        self.load_rps[site] = max(0.0, self.load_rps[site] - rate)
        self.sessions[site] -= 1
        return site

    def placed(self, session_id: Hashable) -> tuple[int, float] | None:
        """The site ``session_id`` runs on (it holds its warm state) and its request rate, or None."""
        return self._placed.get(session_id)

    def observe(self, site: int | str, *, utilization: float | None = None, health: str | None = None) -> None:
        """Fold in a node heartbeat: measured utilization replaces the booked load until the next change."""
        index = self.topology.site_index[site] if isinstance(site, str) else site
        if utilization is not None:
            self.load_rps[index] = utilization * float(self.topology.servers[index] * self.topology.service_rate[index])
        if health is not None:
            self.health[index] = HEALTH.index(health)
