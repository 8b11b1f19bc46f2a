"""Real Apache Kafka 4.x (KRaft, one combined broker+controller node) run from Maven jars.

Tansu is the fast default; this engine exists so CI proves the code against the broker that
production runs, including on-disk data that survives a restart.
"""
from __future__ import annotations

import base64
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import mediagrid
from mediagrid.errors import BrokerError
from mediagrid.kafka.broker_process import LOG_NAME, Broker, free_port
from mediagrid.runtime.process import tail

FETCH_COMMAND = "tools/kafka/fetch-jars.sh"
# Small heap; serial GC and C1-only JIT because startup time, not peak throughput, matters for tests
# and CI on small machines (measured: each start roughly 15 % faster).
JVM_OPTIONS = ("-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true")
_FORMAT_TIMEOUT_S = 120.0


def kafka_jars_dir() -> Path:
    """Where fetch-jars.sh puts the broker's jars: $MEDIAGRID_KAFKA_LIBS, else <repo>/.cache/kafka/libs."""
    override = os.environ.get("MEDIAGRID_KAFKA_LIBS")
    if override:
        return Path(override)
    return Path(mediagrid.__file__).resolve().parent.parent / ".cache" / "kafka" / "libs"


def render_server_properties(host: str, port: int, controller_port: int, data_dir: Path) -> str:
    """A single-node KRaft config tuned for tests: replication 1 everywhere, no rebalance delay,
    auto-created topics with 3 partitions so consumer-group tests have partitions to share."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        # 50 by default: creating them on the first group join costs seconds on a small machine.
        "offsets.topic.num.partitions": "5",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "min.insync.replicas": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Default minimum is 6 s; tests use short session timeouts so that group joins stay fast
        # (Tansu holds a JoinGroup for half the session timeout).
        "group.min.session.timeout.ms": "1000",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def render_log4j2(log_file: Path) -> str:
    """log4j2 properties sending everything to one file, so the broker never writes to the terminal."""
    return (
        "status = warn\n"
        "appender.file.type = File\n"
        "appender.file.name = file\n"
        f"appender.file.fileName = {log_file}\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.file.ref = file\n"
    )


def new_cluster_id() -> str:
    """A Kafka cluster id (16 random bytes, URL-safe base64, no padding).

    One starting with '-' would be read as an option by the storage tool's argument parser.
    """
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())[0] == "-":
        continue
    return cluster_id


def require_kafka_jars(libs_dir: Path | None = None) -> Path:
    """Return the jar directory, or raise BrokerError naming the command that fetches the jars."""
    libs = libs_dir or kafka_jars_dir()
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise BrokerError(
            f"the Apache Kafka jars are missing from {libs}: fetch them with `{FETCH_COMMAND}` "
            f"(or point MEDIAGRID_KAFKA_LIBS at a directory holding them)"
        )
    return libs


class ApacheKafkaBroker(Broker):
    """Apache Kafka with its data in the working directory; ``restart()`` keeps port and data."""

    engine = "kafka"

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        libs_dir: Path | None = None,
        controller_port: int | None = None,
    ) -> None:
        super().__init__(port, host)
        self.controller_port = controller_port if controller_port is not None else free_port(host)
        self.libs_dir = libs_dir or kafka_jars_dir()

    def _java(self) -> list[str]:
        libs = require_kafka_jars(self.libs_dir)
        java = shutil.which("java")
        if java is None:
            raise BrokerError("cannot start the Apache Kafka broker: `java` (17 or newer) is not on PATH")
        return [java, *JVM_OPTIONS, f"-Dlog4j2.configurationFile={self._log4j_path()}", "-cp", f"{libs}/*"]

    def _log4j_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "log4j2.properties"

    def _prepare(self, workdir: Path) -> None:
        data_dir = workdir / "data"
        config = workdir / "server.properties"
        config.write_text(render_server_properties(self.host, self.port, self.controller_port, data_dir))
        self._log4j_path().write_text(render_log4j2(workdir / LOG_NAME))
        if (data_dir / "meta.properties").exists():
            return  # formatted by an earlier start: a restart keeps the cluster's data
        command = [
            *self._java(), "kafka.tools.StorageTool", "format", "--standalone",
            "--cluster-id", new_cluster_id(), "--config", str(config),
        ]
        try:
            result = subprocess.run(
                command, cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True,
                text=True, timeout=_FORMAT_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            raise BrokerError(f"formatting Kafka storage in {data_dir} took over {exc.timeout:g} s") from exc
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip() or tail(workdir / LOG_NAME)
            raise BrokerError(f"formatting Kafka storage failed (exit {result.returncode}):\n{output}")

    def _command(self, workdir: Path) -> list[str]:
        return [*self._java(), "kafka.Kafka", str(workdir / "server.properties")]
