"""Kafka ingest throughput and latency: broker → consumer bridge (decode + schema check) → Holoscan operator.

    .venv/bin/python perf/kafka_ingest.py [--engine tansu|kafka] [--messages 200000] [--rate 5000]

Phase 1 (throughput): a backlog of N commerce requests is read (a) by a bare aiokafka consume loop that does
nothing with the bytes, (b) by the same loop decoding and validating each message, and (c) through the
bridge into a Holoscan operator. Prints msg/s and the ratio (c)/(a). Phase 2 (latency): messages are
produced at a steady rate while the graph runs; ingest latency is Kafka timestamp → operator compute().
Writes perf/results/kafka_ingest.json and .md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

os.environ.setdefault("HOLOSCAN_LOG_LEVEL", "ERROR")

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402

from mediagrid.config import KafkaConfig  # noqa: E402
from mediagrid.kafka import start_broker  # noqa: E402
from mediagrid.kafka.session import KafkaSession  # noqa: E402
from mediagrid.kafka.topics import decode, encode  # noqa: E402
from mediagrid.operators.kafka import KafkaSourceOp  # noqa: E402
from mediagrid.runtime import import_holoscan  # noqa: E402
from mediagrid.runtime.control import RunControl  # noqa: E402
from mediagrid.scenarios.commerce import commerce_requests  # noqa: E402

import_holoscan()
from holoscan.core import Application, Operator  # noqa: E402
from holoscan.schedulers import GreedyScheduler  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ROLE = "commerce.requests"


def payloads(n: int) -> list[tuple[bytes, bytes]]:
    now = time.time_ns() // 1_000_000
    gen = commerce_requests(1, now, 1e9, stream_id="m", rate_per_s=1000, category="sports", deadline_ms=200, k=10,
                            sessions=1000, users=10_000, regions=["EU", "US"])
    return [(m.key, encode(m.value)) for m, _ in zip(gen, range(n))]


async def create(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], rate: float | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    start = time.monotonic()
    try:
        for i, (key, value) in enumerate(records):
            if rate is not None and i % 50 == 0:
                await asyncio.sleep(max(start + i / rate - time.monotonic(), 0))
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def bare_consume(bootstrap: str, topic: str, n: int, decode_too: bool) -> float:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                fetch_max_wait_ms=20, max_partition_fetch_bytes=4 << 20)
    await consumer.start()
    got, start = 0, time.perf_counter()
    try:
        while got < n:
            for records in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                if decode_too:
                    for record in records:
                        decode(ROLE, record.value)
                got += len(records)
        return got / (time.perf_counter() - start)
    finally:
        await consumer.stop()


class Counter(Operator):
    def __init__(self, fragment, *args, bridge, control, expected, **kwargs):
        self.bridge, self.control, self.expected = bridge, control, expected
        self.count = 0
        self.first: float | None = None
        self.last = 0.0
        self.latencies_ms: list[float] = []
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec):
        spec.input("items")

    def compute(self, op_input, op_output, context):
        items = op_input.receive("items")
        now_ms = time.time_ns() / 1e6
        if self.first is None:
            self.first = time.perf_counter()
        self.latencies_ms.extend(now_ms - i.timestamp_ms for i in items)
        self.count += len(items)
        self.last = time.perf_counter()
        self.bridge.checkpoint.handled(items)
        if self.expected and self.count >= self.expected:
            self.control.request_stop("frames")


class IngestBench(Application):
    def __init__(self, session, control, expected):
        self.session, self.control, self.expected = session, control, expected
        super().__init__()

    def compose(self):
        bridge = self.session.consume([ROLE])
        src = KafkaSourceOp(self, bridge=bridge, control=self.control, max_batch=2048, name="src")
        self.counter = Counter(self, bridge=bridge, control=self.control, expected=self.expected, name="count")
        self.add_flow(src, self.counter, {("items", "items")})
        self.scheduler(GreedyScheduler(self, stop_on_deadlock=True, name="greedy"))


def holoscan_run(bootstrap: str, topic: str, group: str, expected: int | None,
                 during=None) -> Counter:
    config = KafkaConfig(bootstrap=bootstrap, group=group, topics={ROLE: topic}, max_queue=50_000,
                         session_timeout_ms=6000, dead_letter_topic="perf.dlq")
    session, control = KafkaSession(config), RunControl()
    try:
        app = IngestBench(session, control, expected)
        future = app.run_async()
        if during is not None:
            during()
            time.sleep(1.0)
            control.request_stop("duration")
        future.result(timeout=600)
        app.shutdown_async_executor()
    finally:
        session.close()
    return app.counter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=("tansu", "kafka"), default="tansu")
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=5000.0, help="steady rate of the latency phase (msg/s)")
    parser.add_argument("--latency-seconds", type=float, default=5.0)
    args = parser.parse_args()

    n = args.messages
    records = payloads(n)
    with start_broker(args.engine) as broker:
        bs = broker.bootstrap
        asyncio.run(create(bs, "perf.backlog"))
        t = time.perf_counter()
        asyncio.run(produce(bs, "perf.backlog", records))
        produce_rate = n / (time.perf_counter() - t)
        bare = asyncio.run(bare_consume(bs, "perf.backlog", n, decode_too=False))
        bare_decode = asyncio.run(bare_consume(bs, "perf.backlog", n, decode_too=True))
        counter = holoscan_run(bs, "perf.backlog", "perf-throughput", n)
        holo = counter.count / (counter.last - counter.first)

        asyncio.run(create(bs, "perf.steady"))
        steady = payloads(int(args.rate * args.latency_seconds))
        counter = holoscan_run(bs, "perf.steady", "perf-latency", None,
                               during=lambda: (time.sleep(3.0), asyncio.run(produce(bs, "perf.steady", steady,
                                                                                   args.rate))))
        lat = np.asarray(counter.latencies_ms)

    result = {
        "benchmark": "kafka_ingest", "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "engine": args.engine, "messages": n, "cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2),
        "produce_msg_s": round(produce_rate), "bare_consume_msg_s": round(bare),
        "bare_consume_decode_msg_s": round(bare_decode), "holoscan_msg_s": round(holo),
        "ratio_vs_bare": round(holo / bare, 3), "ratio_vs_bare_decode": round(holo / bare_decode, 3),
        "latency_rate_msg_s": args.rate, "latency_count": int(lat.size),
        "latency_ms": {q: round(float(np.percentile(lat, p)), 3) for q, p in
                       (("p50", 50), ("p99", 99), ("max", 100))} if lat.size else {},
    }
    lines = [
        f"kafka ingest on {args.engine}, {n} messages, {os.cpu_count()} CPUs (load {result['loadavg_1m']})",
        f"  bare aiokafka consume          {bare:>10,.0f} msg/s",
        f"  bare consume + decode/validate {bare_decode:>10,.0f} msg/s",
        f"  bridge -> Holoscan operator    {holo:>10,.0f} msg/s   ratio {holo / bare:.2f}x bare, "
        f"{holo / bare_decode:.2f}x bare+decode",
        f"  ingest latency at {args.rate:,.0f} msg/s (Kafka timestamp -> compute): "
        + ", ".join(f"{k} {v:.2f} ms" for k, v in result["latency_ms"].items()),
    ]
    print("\n".join(lines))
    out = REPO / "perf" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"kafka_ingest_{args.engine}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"kafka_ingest_{args.engine}.md").write_text("# perf/kafka_ingest.py\n\n```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
