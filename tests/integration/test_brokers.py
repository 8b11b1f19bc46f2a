"""The broker launchers against real Tansu and Apache Kafka, driven by the aiokafka client we ship."""
from __future__ import annotations

import asyncio
import signal
import socket
import struct
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from mediagrid.errors import BrokerError, UsageError
from mediagrid.kafka import (
    ENGINES,
    ApacheKafkaBroker,
    Broker,
    TansuBroker,
    embedded_bootstrap,
    free_port,
    start_broker,
)
from mediagrid.kafka.wire import answers_kafka

pytestmark = pytest.mark.integration

MESSAGES = 300
PARTITIONS = 3
CLIENT_DEADLINE_S = 30.0

# partition -> [(offset, value)] in offset order
Log = dict[int, list[tuple[int, bytes]]]


def payload(i: int) -> bytes:
    """Binary on purpose (NUL and high bytes), and unique per message so any mix-up shows."""
    return struct.pack(">I", i) + bytes((i * 7 + k) % 256 for k in range(64))


async def produce(bootstrap: str, topic: str, count: int, start: int = 0) -> Log:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [
            await producer.send(topic, payload(i), partition=i % PARTITIONS) for i in range(start, start + count)
        ]
        metadata = [await future for future in sent]
    finally:
        await producer.stop()
    log: Log = defaultdict(list)
    for i, record in zip(range(start, start + count), metadata, strict=True):
        log[record.partition].append((record.offset, payload(i)))
    return dict(log)


def consumer(bootstrap: str, topic: str, group: str) -> AIOKafkaConsumer:
    # Tansu answers a JoinGroup only after half the session timeout: keep it short so tests stay fast.
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
    )


async def drain(client: AIOKafkaConsumer, expected: int, timeout_s: float = CLIENT_DEADLINE_S) -> Log:
    """Fetch until `expected` records arrived or the deadline passed (the caller asserts the count)."""
    log: Log = defaultdict(list)
    received = 0
    async with asyncio.timeout(timeout_s):
        while received < expected:
            for tp, records in (await client.getmany(timeout_ms=200)).items():
                log[tp.partition].extend((record.offset, record.value) for record in records)
                received += len(records)
    return dict(log)


async def consume_and_commit(bootstrap: str, topic: str, group: str, expected: int) -> Log:
    client = consumer(bootstrap, topic, group)
    await client.start()
    try:
        log = await drain(client, expected)
        await client.commit()
    finally:
        await client.stop()
    return log


def test_produced_messages_come_back_in_order_with_exact_bytes(
    broker: Broker, create_topic: Callable[..., str]
) -> None:
    topic = create_topic(broker.bootstrap, PARTITIONS)

    async def scenario() -> tuple[Log, Log]:
        sent = await produce(broker.bootstrap, topic, MESSAGES)
        return sent, await consume_and_commit(broker.bootstrap, topic, "g-roundtrip", MESSAGES)

    sent, received = asyncio.run(scenario())

    assert sorted(sent) == list(range(PARTITIONS))
    assert received == sent  # same partitions, same offsets in the same order, same bytes


def test_committed_offsets_are_not_redelivered_to_the_next_group_member(
    broker: Broker, create_topic: Callable[..., str]
) -> None:
    topic = create_topic(broker.bootstrap, PARTITIONS)
    group = "g-commit"

    async def scenario() -> None:
        sent = await produce(broker.bootstrap, topic, MESSAGES)
        await consume_and_commit(broker.bootstrap, topic, group, MESSAGES)
        # Next offset to read per partition. Not from end_offsets(): Tansu 0.6 answers ListOffsets
        # (latest) with the last *batch's* base offset + 1.
        ends = {TopicPartition(topic, p): log[-1][0] + 1 for p, log in sent.items()}

        second = consumer(broker.bootstrap, topic, group)
        await second.start()
        try:
            leftovers = await drain_until_assigned(second)
            assert leftovers == 0
            assert {tp: await second.committed(tp) for tp in ends} == ends
            assert {tp: await second.position(tp) for tp in ends} == ends

            # Proves the member is really fetching: new data arrives, and only the new data.
            fresh = await produce(broker.bootstrap, topic, 1, start=MESSAGES)
            assert await drain(second, 1) == fresh
        finally:
            await second.stop()

    asyncio.run(scenario())


async def drain_until_assigned(client: AIOKafkaConsumer, quiet_s: float = 1.0) -> int:
    """Join the group, then keep fetching for `quiet_s`; returns how many records arrived."""
    received = 0
    async with asyncio.timeout(CLIENT_DEADLINE_S):
        while len(client.assignment()) < PARTITIONS:
            received += sum(len(r) for r in (await client.getmany(timeout_ms=200)).values())
    loop = asyncio.get_running_loop()
    quiet_until = loop.time() + quiet_s
    while loop.time() < quiet_until:
        received += sum(len(r) for r in (await client.getmany(timeout_ms=200)).values())
    return received


def test_embedded_bootstrap_reuses_a_broker_that_answers(broker: Broker) -> None:
    assert embedded_bootstrap(broker.port) == (broker.bootstrap, None)


def test_embedded_bootstrap_starts_tansu_on_a_free_port_and_caller_stops_it() -> None:
    port = free_port()
    bootstrap, owned = embedded_bootstrap(port)
    assert owned is not None
    try:
        assert isinstance(owned, TansuBroker)
        assert bootstrap == f"127.0.0.1:{port}"
        assert answers_kafka("127.0.0.1", port)
    finally:
        owned.stop()
    assert not answers_kafka("127.0.0.1", port)


def test_apache_kafka_restart_keeps_port_and_data(
    apache_kafka_broker: Broker, create_topic: Callable[..., str]
) -> None:
    assert isinstance(apache_kafka_broker, ApacheKafkaBroker)
    topic = create_topic(apache_kafka_broker.bootstrap, PARTITIONS)
    sent = asyncio.run(produce(apache_kafka_broker.bootstrap, topic, 30))
    port = apache_kafka_broker.port

    apache_kafka_broker.restart()

    assert apache_kafka_broker.port == port and apache_kafka_broker.is_running()
    received = asyncio.run(consume_and_commit(apache_kafka_broker.bootstrap, topic, "g-restart", 30))
    assert received == sent


def test_stop_is_idempotent_and_removes_the_working_directory() -> None:
    broker = TansuBroker().start()
    workdir = broker.workdir
    assert workdir is not None and workdir.is_dir()
    broker.stop()
    broker.stop()
    assert not broker.is_running()
    assert not workdir.exists()
    assert not answers_kafka(broker.host, broker.port)


def test_normal_interpreter_exit_stops_the_broker() -> None:
    script = "from mediagrid.kafka import start_broker; print(start_broker('tansu').port)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    port = int(done.stdout.strip())
    assert not answers_kafka("127.0.0.1", port)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_foreground_announces_readiness_and_stops_cleanly_on_signal(sig: signal.Signals) -> None:
    port = free_port()
    script = f"import sys; from mediagrid.kafka import serve_foreground; sys.exit(serve_foreground('tansu', {port}))"
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"tansu broker ready on 127.0.0.1:{port} (Ctrl-C to stop)"
        assert answers_kafka("127.0.0.1", port)
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        proc.communicate()
    assert not answers_kafka("127.0.0.1", port)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_occupied_port_is_refused_with_a_clear_message(engine: str) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(BrokerError, match=rf"port {port} on 127\.0\.0\.1 is already in use"):
            start_broker(engine, port=port)


def test_failing_binary_reports_exit_code_and_log_tail(tmp_path: Path) -> None:
    fake = tmp_path / "tansu"
    fake.write_text("#!/bin/sh\necho 'storage engine exploded' >&2\nexit 3\n")
    fake.chmod(0o755)
    broker = TansuBroker(binary=fake)
    with pytest.raises(BrokerError, match=r"(?s)exited with code 3 before it was ready.*storage engine exploded"):
        broker.start(timeout_s=10)
    assert broker.workdir is None and not broker.is_running()


def test_missing_binary_is_reported(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match=r"cannot run tansu broker .*No such file"):
        TansuBroker(binary=tmp_path / "nope").start()


def test_missing_kafka_jars_name_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match=r"tools/kafka/fetch-jars\.sh"):
        ApacheKafkaBroker(libs_dir=tmp_path).start()


def test_unknown_engine_and_non_loopback_host_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown broker engine 'redpanda'"):
        start_broker("redpanda")
    with pytest.raises(UsageError, match="loopback"):
        start_broker("tansu", host="0.0.0.0")
