"""``produce`` against real brokers: what it says it delivered is what a consumer reads back."""
from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from mediagrid.kafka import Broker
from mediagrid.kafka.topics import InvalidMessage, decode
from mediagrid.scenarios import produce
from tests.integration.conftest import unique_topic

pytestmark = pytest.mark.integration

PARTITIONS = 3
ROLES = ("sports.telemetry", "ads.decisions", "commerce.requests")
SCENARIO = """\
scenario: integration
seed: 5
duration_s: 3
partitions: {partitions}
stream_id: it-stream
topics: {topics}
match: {{id: it-match, home: Home, away: Away, start_minute: 80, speed: 200}}
ads:
  first_s: 0.5
  every_s: 1
  creatives: [{{id: c-1, uri: creatives/c1.png}}]
  slots: [{{x: 0.1, y: 0.8, w: 0.8, h: 0.1}}]
commerce:
  rate_per_s: 60
  sessions: 50
  users: 40
  bursts: [{{at_s: 1, multiplier: 5, duration_s: 1}}]
"""

# topic -> role, and per topic the (key, value bytes) read back
Read = dict[str, list[tuple[bytes | None, bytes]]]


async def _read_all(bootstrap: str, topics: list[str], expected: int, timeout_s: float = 20.0) -> Read:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    read: Read = defaultdict(list)
    try:
        consumer.assign([TopicPartition(t, p) for t in topics for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        async with asyncio.timeout(timeout_s):
            while sum(map(len, read.values())) < expected:
                for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                    read[tp.topic] += [(r.key, r.value) for r in records]
    finally:
        await consumer.stop()
    return read


def test_produce_delivers_what_it_counts(broker: Broker, tmp_path: Path) -> None:
    topics = {role: unique_topic(f"mg-it-{role.split('.')[0]}") for role in ROLES}
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(partitions=PARTITIONS, topics=topics))

    counts = produce(path, broker.bootstrap, malformed_every=9, progress=False)

    assert set(counts) == {*topics.values(), "malformed"}
    assert counts[topics["sports.telemetry"]] > 3 * 25 and counts[topics["ads.decisions"]] == 3
    assert counts[topics["commerce.requests"]] > 100 and counts["malformed"] > 10
    read = asyncio.run(_read_all(broker.bootstrap, list(topics.values()), sum(counts.values()) - counts["malformed"]))
    assert {t: len(read[t]) for t in topics.values()} == {t: counts[t] for t in topics.values()}

    refused = 0
    for role, topic in topics.items():
        for key, raw in read[topic]:
            try:
                value = decode(role, raw)
            except InvalidMessage:
                refused += 1
                continue
            expected_key = {"sports.telemetry": "match_id", "ads.decisions": "stream_id",
                            "commerce.requests": "session_id"}[role]
            assert key == value[expected_key].encode()
    assert refused == counts["malformed"]
