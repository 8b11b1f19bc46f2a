"""``mediagrid grid serve``: the control plane as a Kafka service.

Reads node heartbeats (``mg.grid.node-status``) and placement requests (``mg.grid.placement-requests``),
publishes every decision with its reasons on ``mg.grid.placements``, and checks ten times a second for
nodes that went silent. Its state is soft: after a restart it rebuilds the node list from the next
heartbeats, and stale heartbeats (older than two of their node's intervals) are ignored.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from mediagrid.errors import BrokerError
from mediagrid.grid.control import MISSED_BEATS, ControlPlane, Placement
from mediagrid.grid.topology import Topology
from mediagrid.kafka.topics import InvalidMessage, dead_letter, decode, encode, topic_name

log = logging.getLogger(__name__)

TICK_S = 0.1
GROUP = "mg-grid-control"


def _describe(p: Placement) -> str:
    return f"{p.session_id} -> {p.site}/{p.node_id} ({p.predicted_latency_ms:.1f} ms): {'; '.join(p.reasons[:3])}"


async def serve(plane: ControlPlane, bootstrap: str, stop: asyncio.Event,
                on_decision: Callable[[Placement], None] = lambda p: None) -> dict[str, int]:
    """Run until ``stop`` is set; returns counts (heartbeats, requests, placements, dead letters)."""
    roles = {topic_name("grid.node-status"): "grid.node-status",
             topic_name("grid.placement-requests"): "grid.placement-requests"}
    out_topic, dlq = topic_name("grid.placements"), topic_name("dlq")
    consumer = AIOKafkaConsumer(*roles, bootstrap_servers=bootstrap, group_id=GROUP, auto_offset_reset="latest",
                                fetch_max_wait_ms=int(TICK_S * 1000), session_timeout_ms=6000,
                                heartbeat_interval_ms=2000)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=1)
    try:
        await producer.start()
        await consumer.start()
    except KafkaError as exc:
        await producer.stop()
        raise BrokerError(f"control plane cannot reach the broker at {bootstrap}: {exc}") from exc
    counts = {"heartbeats": 0, "requests": 0, "placements": 0, "dead_lettered": 0, "stale": 0}

    async def publish(placements: list[Placement]) -> None:
        now_ms = time.time_ns() // 1_000_000
        for placement in placements:
            await producer.send(out_topic, encode(placement.message(now_ms)), key=placement.session_id.encode())
            counts["placements"] += 1
            on_decision(placement)

    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=int(TICK_S * 1000))
            now_s = time.monotonic()
            for tp, records in batches.items():
                role = roles[tp.topic]
                for record in records:
                    try:
                        message = decode(role, record.value)
                    except InvalidMessage as exc:
                        log.warning("%s[%d]@%d rejected to %s: %s", tp.topic, tp.partition, record.offset, dlq,
                                    exc.reason)
                        await producer.send(dlq, dead_letter(tp.topic, tp.partition, record.offset,
                                                             record.timestamp, record.value, exc.reason))
                        counts["dead_lettered"] += 1
                        continue
                    if role == "grid.node-status":
                        age_ms = time.time_ns() // 1_000_000 - message["ts_ms"]
                        if age_ms > MISSED_BEATS * message.get("interval_ms", 1000.0):
                            counts["stale"] += 1  # a heartbeat from before this control plane listened
                            continue
                        counts["heartbeats"] += 1
                        await publish(plane.heartbeat(message, now_s))
                    else:
                        counts["requests"] += 1
                        placement = plane.request(message)
                        if placement is None:
                            log.warning("no site can take session %s: %s", message["session_id"],
                                        plane.unplaced.get(message["session_id"]))
                        else:
                            await publish([placement])
            await publish(plane.tick(time.monotonic()))
    finally:
        await consumer.stop()
        await producer.stop()
    return counts


def serve_foreground(topology_path: str, bootstrap: str, strategy: str = "grid") -> int:
    """For the CLI: print each decision as it is made, until Ctrl-C or SIGTERM."""
    plane = ControlPlane(Topology.load(topology_path), strategy)

    async def main() -> dict[str, int]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"grid control plane ({strategy}) on {bootstrap}: {len(plane.topology.sites)} sites; Ctrl-C to stop",
              flush=True)
        return await serve(plane, bootstrap, stop, lambda p: print(_describe(p), flush=True))

    counts = asyncio.run(main())
    print("stopped: " + ", ".join(f"{k} {v}" for k, v in counts.items()), file=sys.stderr)
    return 0
