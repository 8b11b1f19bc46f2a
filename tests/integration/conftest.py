"""Real brokers for integration tests, each started once per session (the JVM start is the slow part)."""
from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from mediagrid.errors import BrokerError
from mediagrid.kafka import ApacheKafkaBroker, Broker, TansuBroker
from mediagrid.kafka.apache_kafka import require_kafka_jars
from mediagrid.kafka.tansu import tansu_binary

ENGINE_FIXTURES = {"tansu": "tansu_broker", "apache-kafka": "apache_kafka_broker"}


def _unavailable(reason: str) -> None:
    """CI must not go green by skipping the broker it exists to test; a laptop may skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tansu_broker() -> Iterator[Broker]:
    try:
        tansu_binary()
    except BrokerError as exc:
        _unavailable(str(exc))
    with TansuBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def apache_kafka_broker() -> Iterator[Broker]:
    try:
        require_kafka_jars()
    except BrokerError as exc:
        _unavailable(str(exc))
    with ApacheKafkaBroker() as broker:
        yield broker


@pytest.fixture(params=list(ENGINE_FIXTURES), ids=list(ENGINE_FIXTURES))
def broker(request: pytest.FixtureRequest) -> Broker:
    """Each test using this runs once per engine; -v names them [tansu] and [apache-kafka]."""
    return request.getfixturevalue(ENGINE_FIXTURES[request.param])


def unique_topic(prefix: str = "mg-test") -> str:
    """Topics outlive a test on a session broker, so every test needs names of its own."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def _create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


@pytest.fixture
def create_topic() -> Callable[..., str]:
    """Factory: create_topic(bootstrap, partitions=3) creates a uniquely named topic and returns its name."""

    def create(bootstrap: str, partitions: int = 3) -> str:
        name = unique_topic()
        asyncio.run(_create_topic(bootstrap, name, partitions))
        return name

    return create
