"""The one owner of a consumer's commit order: an input's offset becomes committable only once everything it
produced is durable (the Kafka records it caused are delivered, or its dead letter is), like Quix Streams'
checkpoint. Operators never acknowledge offsets themselves; each item they take ends in exactly one of:

- :meth:`Checkpoint.handled`: nothing of it remains to be made durable (state applied, plan updated, or it
  was dropped as too late, counted by the recorder);
- :meth:`Checkpoint.deliver`: records that answer it are sent; the item is handled when they are delivered,
  and stays uncommitted (re-read after a restart) if they fail;
- :meth:`Checkpoint.dead_letter`: it goes to the dead-letter topic with its reason, and is handled once
  the dead letter is durable.

The consumer bridge commits what the tracker allows at its commit interval and on close.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mediagrid.kafka.offsets import OffsetTracker
from mediagrid.kafka.producer import DeliveryCallback, OutRecord, SharedProducer
from mediagrid.kafka.topics import dead_letter

Position = tuple[str, int, int]  # topic, partition, offset


def item_id(topic: str, partition: int, offset: int) -> str:
    """An input's id in records, reports and events.jsonl: ``topic:partition:offset``."""
    return f"{topic}:{partition}:{offset}"


class Checkpoint:
    def __init__(self, tracker: OffsetTracker, producer: SharedProducer, dead_letter_topic: str) -> None:
        self.tracker = tracker
        self.producer = producer
        self.dead_letter_topic = dead_letter_topic
        self.dead_lettered = 0

    def handled(self, items: Iterable[Any]) -> None:
        """``items`` (anything with ``topic``, ``partition`` and ``offset``) need nothing more: committable."""
        by_partition: dict[tuple[str, int], list[int]] = {}
        for item in items:
            by_partition.setdefault((item.topic, item.partition), []).append(item.offset)
        for (topic, partition), offsets in by_partition.items():
            self.tracker.acked((topic, partition), offsets)  # equal to aiokafka's TopicPartition

    def deliver(self, records: Sequence[OutRecord], items: Sequence[Any],
                on_done: DeliveryCallback | None = None) -> None:
        """Send ``records`` without waiting; ``items`` are handled once all of them are delivered.
        ``on_done`` (on the Kafka thread) gets the delivery's error or None either way."""

        def delivered(error: BaseException | None) -> None:
            if on_done is not None:
                on_done(error)
            if error is None:
                self.handled(items)

        self.producer.send(records, delivered)

    def dead_letter(self, position: Position, timestamp_ms: int, raw: bytes, key: bytes | None, reason: str,
                    on_durable: Callable[[], None] | None = None) -> None:
        """The original bytes, where they came from and why, to the dead-letter topic; the input is handled
        only once the dead letter is durable (otherwise it is read again)."""
        topic, partition, offset = position
        letter = dead_letter(topic, partition, offset, timestamp_ms, raw, reason)

        def done(error: BaseException | None) -> None:
            if error is None:
                self.dead_lettered += 1
                self.tracker.acked((topic, partition), [offset])
                if on_durable is not None:
                    on_durable()

        self.producer.send([OutRecord(self.dead_letter_topic, letter, key)], done)

