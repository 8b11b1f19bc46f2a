"""``mediagrid produce``: publish a scenario's traffic to Kafka in real time.

Messages leave when their ``send_at_s`` comes due on the event loop's clock, so a scenario's rates are the
rates a consumer sees; when the producer falls behind it sends at once rather than skipping. Every record
is acknowledged by all in-sync replicas (``acks=all``); a record that fails is counted, and the run ends with
:class:`DeliveryError` if any did, after counting what was delivered.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from functools import partial

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from mediagrid.errors import BrokerError, UsageError
from mediagrid.scenarios.malformed import Outgoing, encode_all
from mediagrid.scenarios.scenario import Scenario, load_scenario

#: key of the count of deliberately broken messages in :func:`produce`'s result
MALFORMED = "malformed"
CONNECT_TIMEOUT_S = 15.0
LINGER_MS = 5
_EARLY_S = 0.001  # closer than this to its time, a message is sent without sleeping
_PROGRESS_EVERY_S = 0.2


class DeliveryError(BrokerError):
    """Some records were not acknowledged by the broker; ``counts`` holds what was delivered."""

    def __init__(self, message: str, counts: dict[str, int]) -> None:
        super().__init__(message)
        self.counts = counts


def produce(scenario_path: str | os.PathLike[str], bootstrap: str, duration_s: float | None = None,
            rate: float | None = None, seed: int | None = None, malformed_every: int | None = None,
            progress: bool = True) -> dict[str, int]:
    """Publish the scenario at ``scenario_path`` to the brokers at ``bootstrap``; return delivered records per
    topic name (broken ones included) and, under ``"malformed"``, how many of them were broken on purpose.

    ``duration_s``, ``rate`` (commerce requests per second) and ``seed`` override the file. Topics are
    created first if missing. A bad file raises ConfigError, an unreachable broker :class:`BrokerError`, and
    failed deliveries :class:`DeliveryError`.
    """
    if malformed_every is not None and malformed_every < 1:
        raise UsageError(f"--malformed-every must be a whole number of at least 1, not {malformed_every}")
    scenario = load_scenario(scenario_path).with_overrides(duration_s=duration_s, rate=rate, seed=seed)
    show = progress and sys.stderr.isatty()
    return asyncio.run(_publish(scenario, bootstrap, malformed_every, show))


async def _publish(scenario: Scenario, bootstrap: str, malformed_every: int | None, show: bool) -> dict[str, int]:
    topics = scenario.topics
    await _ensure_topics(bootstrap, topics.values(), scenario.data["partitions"], scenario.data["replication_factor"])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=LINGER_MS)
    await _connect(producer.start(), bootstrap)
    delivered: Counter[str] = Counter()
    failures: list[str] = []

    def record(topic: str, malformed: str | None, future: asyncio.Future[object]) -> None:
        if future.cancelled() or future.exception() is not None:
            failures.append(f"{topic}: {'cancelled' if future.cancelled() else future.exception()!r}")
            return
        delivered[topic] += 1
        if malformed is not None:
            delivered[MALFORMED] += 1

    try:
        outgoing = encode_all(scenario.messages(time.time_ns() // 1_000_000), malformed_every)
        with _Progress(scenario.duration_s, show) as bar:
            async for out in _paced(outgoing, bar):
                topic = topics[out.role]
                sent = await producer.send(topic, out.payload, key=out.key, timestamp_ms=out.timestamp_ms)
                sent.add_done_callback(partial(record, topic, out.malformed))
            await producer.flush()
    except KafkaError as exc:
        raise BrokerError(f"publishing to {bootstrap} failed: {exc!r}") from exc
    finally:
        await producer.stop()
    counts = {topic: delivered[topic] for topic in topics.values()} | {MALFORMED: delivered[MALFORMED]}
    if failures:
        raise DeliveryError(f"{len(failures)} records were not delivered to {bootstrap} (first: {failures[0]}); "
                            f"delivered: {_listing(counts)}", counts)
    return counts


async def _paced(outgoing: Iterable[Outgoing], bar: _Progress) -> AsyncIterator[Outgoing]:
    """``outgoing`` released at their times on the loop's clock, counted on the progress bar."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for out in outgoing:
        wait = start + out.send_at_s - loop.time()
        if wait > _EARLY_S:
            await asyncio.sleep(wait)
        yield out
        bar.advance(loop.time() - start)


async def _ensure_topics(bootstrap: str, names: Iterable[str], partitions: int, replication: int) -> None:
    """Create the topics that do not exist yet; one created meanwhile by someone else is fine too."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await _connect(admin.start(), bootstrap)
    try:
        missing = sorted(set(names) - set(await admin.list_topics()))
        if missing:
            response = await admin.create_topics([NewTopic(n, partitions, replication) for n in missing])
            for topic, code, *_ in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise BrokerError(f"cannot create topic {topic} on {bootstrap}: {for_code(code).__name__}")
    except KafkaError as exc:
        raise BrokerError(f"cannot set up topics on {bootstrap}: {exc!r}") from exc
    finally:
        await admin.close()


async def _connect(start: Awaitable[None], bootstrap: str) -> None:
    """Await a client's start, turning every way it can fail into a BrokerError naming the bootstrap."""
    try:
        await asyncio.wait_for(start, CONNECT_TIMEOUT_S)
    except (KafkaError, OSError, TimeoutError) as exc:
        why = f"no answer within {CONNECT_TIMEOUT_S:g} s" if isinstance(exc, TimeoutError) else type(exc).__name__
        raise BrokerError(f"cannot reach the Kafka broker at {bootstrap} ({why}); is it running there?") from exc


def _listing(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name}={n}" for name, n in counts.items())


class _Progress(contextlib.AbstractContextManager["_Progress"]):
    """A progress bar over the run's duration on stderr, or nothing when stderr is not a terminal."""

    def __init__(self, duration_s: float, show: bool) -> None:
        self.sent, self.shown_at = 0, 0.0
        self.bar = Progress(TextColumn("producing"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
                            TextColumn("{task.fields[sent]} messages"), TimeElapsedColumn(),
                            console=Console(stderr=True), disable=not show)
        self.task = self.bar.add_task("produce", total=duration_s, sent=0)

    def __enter__(self) -> _Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.bar.update(self.task, sent=self.sent)
        self.bar.stop()

    def advance(self, elapsed_s: float) -> None:
        self.sent += 1
        if elapsed_s - self.shown_at >= _PROGRESS_EVERY_S:
            self.shown_at = elapsed_s
            self.bar.update(self.task, completed=elapsed_s, sent=self.sent)
