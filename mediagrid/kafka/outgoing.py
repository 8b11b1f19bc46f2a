"""An answer on its way out: the record, the inputs it answers, and what the recorder needs to count it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediagrid.kafka.consumer import KafkaItem
from mediagrid.kafka.producer import OutRecord
from mediagrid.scheduler.deadline import Deadline


@dataclass(slots=True)
class Outgoing:
    """One output record and the input items it answers; they are acknowledged when it is delivered.

    ``dropped`` marks an answer that says "too late" (still delivered, so the asker stops waiting);
    ``fields`` go into the item's line in events.jsonl.
    """

    record: OutRecord
    inputs: list[KafkaItem]
    item_id: str
    deadline: Deadline
    degraded: bool = False
    dropped: bool = False
    fields: dict[str, Any] = field(default_factory=dict)
