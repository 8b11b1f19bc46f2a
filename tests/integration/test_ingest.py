"""The Kafka ingest path end to end, with real brokers and real `mediagrid run` processes.

Each test owns its topics and consumer group. Nothing may be lost: every valid message must appear on the
relay topic (at least once), every malformed one on the dead-letter topic with its reason.
"""
from __future__ import annotations

import signal
import subprocess
import time

import pytest

from mediagrid.kafka import ApacheKafkaBroker
from mediagrid.kafka.apache_kafka import require_kafka_jars
from mediagrid.kafka.topics import decode, encode
from tests.integration.conftest import unique_topic
from tests.integration.kafka_helpers import (
    commerce_values, ingest_config, produce, produce_requests, read_topic, relayed_ids, start_ingest, stop_ingest,
)

pytestmark = pytest.mark.integration


def _topics(broker, create_topic):
    # Every topic made before the app starts: left to auto-creation, the relay topic was created by the app's
    # producer and the test's reader at once, and Tansu once answered every send with NotLeaderForPartition.
    return dict(requests=create_topic(broker.bootstrap), relay=create_topic(broker.bootstrap),
                dlq=create_topic(broker.bootstrap), group=unique_topic("group"))


def _wait_for(bootstrap: str, topic: str, ids: set[str], *procs: subprocess.Popen, timeout_s: float = 90) -> set[str]:
    """Read the relay topic until every id is there, or one of ``procs`` has exited (a failed run)."""
    records = read_topic(bootstrap, topic,
                         lambda got: ids <= relayed_ids(got) or any(p.poll() is not None for p in procs), timeout_s)
    return relayed_ids(records)


def test_valid_relayed_and_malformed_dead_lettered(broker, create_topic, tmp_path):
    t = _topics(broker, create_topic)
    values = commerce_values(400)
    bad = [b"{not json", b"\xff\xfe", b'{"v": 1}', b"[]", b'{"v": "one", "ts_ms": 5}']
    records, expected_bad = [], 0
    for i, (key, value) in enumerate(values):
        records.append((key, encode(value)))
        if i % 50 == 0:
            records.append((key, bad[expected_bad % len(bad)]))
            expected_bad += 1
    produce(broker.bootstrap, t["requests"], records)
    config = ingest_config(tmp_path, broker.bootstrap, **t)
    proc = start_ingest(config, tmp_path / "run")
    ids = {v["request_id"] for _, v in values}
    got = _wait_for(broker.bootstrap, t["relay"], ids, proc)
    dead = read_topic(broker.bootstrap, t["dlq"], lambda g: len(g) >= expected_bad, 30)
    code, stderr = stop_ingest(proc)
    assert code == 0, stderr
    assert got == ids
    relayed = read_topic(broker.bootstrap, t["relay"], lambda g: len(g) >= len(ids), 10)
    for record in relayed:  # the relay's own messages follow their published schema
        decode("ingest.relay", encode(record))
    assert len(dead) == expected_bad
    assert all(d["topic"] == t["requests"] and d["detail"] and d["original_b64"] is not None for d in dead)
    assert {d["reason"] for d in dead} >= {"not_json", "schema"}


def test_sigkill_and_restart_loses_nothing(broker, create_topic, tmp_path):
    t = _topics(broker, create_topic)
    ids = produce_requests(broker.bootstrap, t["requests"], 3000)
    config = ingest_config(tmp_path, broker.bootstrap, max_queue=200, **t)
    first = start_ingest(config, tmp_path / "run1")
    read_topic(broker.bootstrap, t["relay"], lambda got: len(got) >= 300, 60)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    ids |= produce_requests(broker.bootstrap, t["requests"], 1000, seed=2)
    second = start_ingest(config, tmp_path / "run2")
    got = _wait_for(broker.bootstrap, t["relay"], ids, second)
    code, stderr = stop_ingest(second)
    assert code == 0, stderr
    assert ids - got == set(), f"{len(ids - got)} messages lost"


def test_group_member_killed_its_partitions_move(broker, create_topic, tmp_path):
    t = _topics(broker, create_topic)
    ids = produce_requests(broker.bootstrap, t["requests"], 1500)
    config = ingest_config(tmp_path, broker.bootstrap, max_queue=100, **t)
    procs = [start_ingest(config, tmp_path / f"run{i}", f"node.id=edge-test-{i}") for i in range(3)]
    read_topic(broker.bootstrap, t["relay"], lambda got: len(got) >= 200, 60)
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait(10)
    late_ids = produce_requests(broker.bootstrap, t["requests"], 1500, seed=3)
    ids |= late_ids
    records = read_topic(broker.bootstrap, t["relay"], lambda got: ids <= relayed_ids(got), 90)
    results = [stop_ingest(p) for p in procs[1:]]
    assert all(code == 0 for code, _ in results), results
    assert ids - relayed_ids(records) == set()
    after_kill = [r for r in records if r["value"]["request_id"] in late_ids]
    # the survivors covered every partition, the dead member's included
    assert {r["source"]["partition"] for r in after_kill} == {0, 1, 2}
    assert {r["node"] for r in after_kill} <= {"edge-test-1", "edge-test-2"}


def test_messages_from_kcat_are_consumed(apache_kafka_broker, create_topic, tmp_path):
    """An independent client (librdkafka's kcat) writes; Apache Kafka only, because Tansu 0.6 answers
    librdkafka's ApiVersions request with a reply it cannot read ("Read underflow"), whatever the flags."""
    broker = apache_kafka_broker
    if subprocess.run(["which", "kcat"], capture_output=True).returncode != 0:
        pytest.skip("kcat is not installed (make test installs it)")
    t = _topics(broker, create_topic)
    values = commerce_values(50, seed=5)
    lines = b"\n".join(encode(v) for _, v in values) + b"\n{broken\n"
    done = subprocess.run(["kcat", "-P", "-b", broker.bootstrap, "-t", t["requests"]], input=lines,
                          capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    config = ingest_config(tmp_path, broker.bootstrap, **t)
    proc = start_ingest(config, tmp_path / "run")
    ids = {v["request_id"] for _, v in values}
    got = _wait_for(broker.bootstrap, t["relay"], ids, proc, timeout_s=60)
    dead = read_topic(broker.bootstrap, t["dlq"], lambda g: len(g) >= 1, 30)
    code, stderr = stop_ingest(proc)
    assert code == 0, stderr
    assert got == ids and len(dead) == 1 and dead[0]["reason"] == "not_json"


def test_broker_restart_while_consuming(tmp_path):
    """Apache Kafka stopped and started again under a running ingest: it resumes by itself."""
    try:
        require_kafka_jars()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(str(exc))
    with ApacheKafkaBroker() as broker:
        t = dict(requests=unique_topic("req"), relay=unique_topic("relay"), dlq=unique_topic("dlq"),
                 group=unique_topic("group"))
        ids = produce_requests(broker.bootstrap, t["requests"], 500)
        config = ingest_config(tmp_path, broker.bootstrap, **t)
        proc = start_ingest(config, tmp_path / "run")
        _wait_for(broker.bootstrap, t["relay"], ids, proc, timeout_s=60)
        broker.restart()
        time.sleep(1.0)
        ids |= produce_requests(broker.bootstrap, t["requests"], 500, seed=4)
        got = _wait_for(broker.bootstrap, t["relay"], ids, proc)
        assert proc.poll() is None, "the ingest process died with the broker"
        code, stderr = stop_ingest(proc)
        assert code == 0, stderr
        assert ids - got == set()
