"""Node heartbeats: every node run with a Kafka section tells the grid control plane, on
``mg.grid.node-status``, that it is alive and how it is doing (health, utilization, queue, misses).

A clean stop sends one last heartbeat with health ``down``, so the control plane moves the node's sessions
at once instead of waiting for two missed beats.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

from mediagrid.config import NodeConfig
from mediagrid.kafka.producer import OutRecord
from mediagrid.kafka.topics import SCHEMA_VERSION, encode
from mediagrid.metrics.recorder import OutcomeRecorder

#: Share of the interval's items missed or dropped above which a node calls itself degraded.
DEGRADED_MISS_RATE = 0.01


class HeartbeatPublisher:
    def __init__(self, session: Any, node: NodeConfig, app: str, recorder: OutcomeRecorder) -> None:
        self.session = session
        self.node = node
        self.app = app
        self.recorder = recorder
        self.interval_s = node.heartbeat_ms / 1000
        self.topic = session.topic("grid.node-status")
        self.seq = 0
        self._stop = asyncio.Event()
        self._task: Any = None
        self._last = (time.monotonic(), time.process_time(), 0, 0)  # wall, cpu, items, misses

    def start(self) -> HeartbeatPublisher:
        self._task = self.session.loop.submit(self._run())
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop beating and announce ``down``; waits until that last heartbeat is delivered (or fails)."""
        if self._task is None:
            return
        self.session.loop.call(self._stop.set)
        self._task.result(timeout)
        self._task = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval_s)
            except asyncio.TimeoutError:
                await self._beat("healthy")
        await self._beat("down")

    def status(self, health: str) -> dict[str, Any]:
        """The node-status message for now; the interval's numbers are deltas since the previous one."""
        wall, cpu = time.monotonic(), time.process_time()
        counts = self.recorder.counts()
        items, misses = sum(counts.values()), counts["missed"] + counts["dropped"]
        last_wall, last_cpu, last_items, last_misses = self._last
        self._last = (wall, cpu, items, misses)
        new_items, new_misses = items - last_items, misses - last_misses
        if health == "healthy" and new_items and new_misses / new_items > DEGRADED_MISS_RATE:
            health = "degraded"
        # busy share of one core: the graph runs its Python operators on one scheduler thread
        utilization = min(max((cpu - last_cpu) / max(wall - last_wall, 1e-9), 0.0), 1.0)
        self.seq += 1
        return {
            "v": SCHEMA_VERSION, "ts_ms": time.time_ns() // 1_000_000, "node_id": self.node.id,
            "site": self.node.site, "jurisdiction": self.node.jurisdiction, "health": health,
            "utilization": round(utilization, 4), "queue_depth": self.session.stats()["queue_depth"],
            "misses": new_misses, "heartbeat_seq": self.seq, "interval_ms": self.node.heartbeat_ms,
            "app": self.app,
        }

    async def _beat(self, health: str) -> None:
        record = OutRecord(self.topic, encode(self.status(health)), self.node.id.encode())
        await self.session.producer.send_batch([record])
