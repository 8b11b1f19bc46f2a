"""Shared pieces of the Kafka ingest tests: valid traffic, reading a topic back, an ingest process."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from mediagrid.kafka.topics import encode
from mediagrid.scenarios.commerce import commerce_requests
from tests.conftest import REPO


def commerce_values(n: int, seed: int = 1) -> list[tuple[bytes, dict[str, Any]]]:
    """``n`` valid commerce requests (key, value), stamped now so they are not already late."""
    now_ms = time.time_ns() // 1_000_000
    messages = commerce_requests(seed, now_ms, 10_000, stream_id="match-1", rate_per_s=1000, category="sports",
                                 deadline_ms=200, k=10, sessions=64, users=500, regions=["EU", "US"])
    out = []
    for message, _ in zip(messages, range(n)):
        message.value["ts_ms"] = now_ms
        out.append((message.key, message.value))
    return out


async def _produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for key, value in records:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
    asyncio.run(_produce(bootstrap, topic, records))


def produce_requests(bootstrap: str, topic: str, n: int, seed: int = 1) -> set[str]:
    """Produce ``n`` valid requests; returns their request ids."""
    values = commerce_values(n, seed)
    produce(bootstrap, topic, [(key, encode(value)) for key, value in values])
    return {value["request_id"] for _, value in values}


async def _read(bootstrap: str, topic: str, until: Any, timeout_s: float) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=None, fetch_max_wait_ms=100)
    await consumer.start()
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not until(got):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                got.extend(json.loads(r.value) for r in records)
    finally:
        await consumer.stop()
    return got


def read_topic(bootstrap: str, topic: str, until: Any = lambda got: False, timeout_s: float = 30) -> list[dict]:
    """Everything on ``topic`` from the start, until ``until(records)`` holds or the timeout passes."""
    return asyncio.run(_read(bootstrap, topic, until, timeout_s))


def relayed_ids(records: list[dict[str, Any]]) -> set[str]:
    return {r["value"]["request_id"] for r in records}


def ingest_config(tmp: Path, bootstrap: str, *, group: str, requests: str, relay: str, dlq: str,
                  max_queue: int = 10_000, name: str = "ingest.yaml") -> Path:
    """A config for the ingest app with topics of the test's own (so tests never see each other's data)."""
    path = tmp / name
    path.write_text(f"""
app: ingest
node: {{id: edge-test-1, site: test, jurisdiction: EU}}
device: cpu
kafka:
  bootstrap: "{bootstrap}"
  group: {group}
  topics: {{commerce.requests: {requests}, ingest.relay: {relay}}}
  dead_letter_topic: {dlq}
  max_queue: {max_queue}
  commit_interval_ms: 100
  session_timeout_ms: 3000
deadlines: {{message_ms: 60000, policy: drop}}
ingest: {{roles: [commerce.requests], max_batch: 256}}
""")
    return path


def start_ingest(config: Path, out: Path, *overrides: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "mediagrid.cli", "run", str(config), "--out", str(out), "--no-progress",
            "--duration", "300"]
    for override in overrides:
        args += ["--set", override]
    env = {**os.environ, "HOLOSCAN_LOG_LEVEL": "ERROR"}
    out.mkdir(parents=True, exist_ok=True)
    # stderr to a file, not a pipe: nobody reads a pipe until the end, and a full one blocks the writer
    with open(out / "stderr.log", "w") as log:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    proc.stderr_path = out / "stderr.log"  # type: ignore[attr-defined]
    return proc


def stop_ingest(proc: subprocess.Popen, timeout_s: float = 30) -> tuple[int, str]:
    """Ctrl-C, as an operator would; returns (exit code, stderr)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    proc.wait(timeout=timeout_s)
    return proc.returncode, proc.stderr_path.read_text()  # type: ignore[attr-defined]
