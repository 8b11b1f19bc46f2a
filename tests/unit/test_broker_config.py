"""Pure parts of the broker launchers: config rendering, ids, address checks, and the wire probe's
refusal to mistake a non-Kafka listener for a broker (which would make `embedded_bootstrap` reuse it)."""
from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mediagrid.errors import UsageError
from mediagrid.kafka import free_port
from mediagrid.kafka.apache_kafka import new_cluster_id, render_log4j2, render_server_properties
from mediagrid.kafka.wire import answers_kafka


def parse_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_server_properties_bind_only_loopback_and_carry_test_settings(tmp_path: Path) -> None:
    props = parse_properties(render_server_properties("127.0.0.1", 9092, 9093, tmp_path / "data"))

    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["advertised.listeners"] == props["listeners"]
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert "controller.quorum.voters" not in props  # forbidden together with `format --standalone`
    assert props["log.dirs"] == str(tmp_path / "data")
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr", "min.insync.replicas"):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["num.partitions"] == "3"


def test_log4j2_config_writes_to_the_given_file_only(tmp_path: Path) -> None:
    props = parse_properties(render_log4j2(tmp_path / "broker.log").replace(" = ", "="))
    assert props["appender.file.fileName"] == str(tmp_path / "broker.log")
    assert {key.split(".")[1] for key in props if key.startswith("appender.")} == {"file"}
    assert props["rootLogger.appenderRef.file.ref"] == "file"


def test_cluster_ids_are_16_random_bytes_never_starting_with_a_dash() -> None:
    ids = {new_cluster_id() for _ in range(500)}
    assert len(ids) == 500
    for cluster_id in ids:
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "localhost", "::1"])
def test_only_ipv4_loopback_hosts_are_accepted(host: str) -> None:
    with pytest.raises(UsageError, match="loopback"):
        free_port(host)


def _serve_once(reply: Callable[[socket.socket], None]) -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def handle() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(4096)
            reply(conn)

    thread = threading.Thread(target=handle, daemon=True)
    thread.start()
    yield port
    thread.join(timeout=5)
    server.close()


@pytest.fixture
def http_server() -> Iterator[int]:
    yield from _serve_once(lambda conn: conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))


@pytest.fixture
def closing_server() -> Iterator[int]:
    yield from _serve_once(lambda conn: None)


def test_probe_rejects_a_non_kafka_listener(http_server: int) -> None:
    assert not answers_kafka("127.0.0.1", http_server, timeout_s=2.0)


def test_probe_rejects_a_listener_that_hangs_up(closing_server: int) -> None:
    assert not answers_kafka("127.0.0.1", closing_server, timeout_s=2.0)


def test_probe_rejects_a_closed_port() -> None:
    assert not answers_kafka("127.0.0.1", free_port(), timeout_s=2.0)
