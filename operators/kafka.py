"""Kafka at the edges of a Holoscan graph, without ever blocking a scheduler thread.

``KafkaSourceOp`` drains a :class:`ConsumerBridge` when its ``AsynchronousCondition`` says items are
waiting (no polling, no busy wait) and emits them in batches: one hop per message would cap a Python graph
at a few thousand messages per second. ``KafkaSinkOp`` hands outgoing records to the consumer's
:class:`~mediagrid.kafka.checkpoint.Checkpoint` and, when the broker confirms them, records each item's
outcome; the checkpoint then lets their input offsets be committed.
"""
from __future__ import annotations

import time
from typing import Any

from mediagrid.kafka.checkpoint import Checkpoint
from mediagrid.kafka.consumer import ConsumerBridge, KafkaItem
from mediagrid.kafka.outgoing import Outgoing
from mediagrid.kafka.producer import OutRecord
from mediagrid.kafka.topics import encode
from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import NS_PER_MS, now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.scheduler.deadline import Deadline
from mediagrid.operators.base import FedOp, MediagridOp

import_holoscan()
from holoscan.core import OperatorSpec  # noqa: E402


class KafkaSourceOp(FedOp):
    """Emits ``list[KafkaItem]`` batches of at most ``max_batch`` items on port ``items``; woken by the
    bridge (new items) and by the runner (a stop request)."""

    def __init__(self, fragment: Any, *args: Any, bridge: ConsumerBridge, control: RunControl,
                 max_batch: int = 512, **kwargs: Any) -> None:
        self.bridge = bridge
        self.max_batch = max_batch
        bridge.on_ready = self.wake
        control.add_stop_hook(self.wake)
        super().__init__(fragment, *args, control=control, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.output("items")

    def start(self) -> None:
        self.waiting(more=self.bridge.depth() > 0)

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        if self.control.stop_requested.is_set():
            self.finish()
            return
        batch = self.bridge.take(self.max_batch)
        self.waiting(more=self.bridge.depth() > 0)
        if batch:
            op_output.emit(batch, "items")


class KafkaSinkOp(MediagridOp):
    """Takes ``list[Outgoing]`` on port ``out``; never waits for the broker on the scheduler thread."""

    STAGE = "deliver"

    def __init__(self, fragment: Any, *args: Any, checkpoint: Checkpoint, recorder: OutcomeRecorder,
                 control: RunControl, **kwargs: Any) -> None:
        self.checkpoint = checkpoint
        super().__init__(fragment, *args, control=control, recorder=recorder, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("out")

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        batch: list[Outgoing] = op_input.receive("out")
        if batch:
            sent = now_ns()
            self.checkpoint.deliver([o.record for o in batch], [item for out in batch for item in out.inputs],
                                    lambda error, batch=batch, sent=sent: self._delivered(batch, sent, error))

    def _delivered(self, batch: list[Outgoing], sent_ns: int, error: BaseException | None) -> None:
        """On the Kafka thread. A failed delivery is counted as dropped; the checkpoint leaves its inputs
        uncommitted, so they are read again after a restart."""
        done = now_ns()
        for out in batch:
            flags = {"degraded": out.degraded, "dropped": out.dropped or error is not None}
            self.recorder.stage(self.STAGE, out.item_id, out.deadline, sent_ns, done, **flags)
            self.recorder.finish(out.item_id, out.deadline, done, **flags, **out.fields)


class RelayOp(MediagridOp):
    """The ingest app's work: each valid item becomes a record on the output topic carrying its source
    position (so downstream consumers can de-duplicate re-deliveries). Items already past their deadline
    are dropped, counted and acknowledged: they were handled, by deciding they are too late to matter."""

    STAGE = "handle"

    def __init__(self, fragment: Any, *args: Any, output_topic: str, budget_ns: int, node_id: str,
                 checkpoint: Checkpoint, recorder: OutcomeRecorder, control: RunControl, **kwargs: Any) -> None:
        self.output_topic = output_topic
        self.budget_ns = budget_ns
        self.node_id = node_id
        self.checkpoint = checkpoint
        super().__init__(fragment, *args, control=control, recorder=recorder, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("items")
        spec.output("out")

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        items: list[KafkaItem] = op_input.receive("items")
        outgoing: list[Outgoing] = []
        late: list[KafkaItem] = []
        for item in items:
            started = now_ns()
            deadline = Deadline.from_budget(item.origin_ns, self.budget_ns)
            item_id = item.item_id
            if deadline.remaining_ns(started) < 0:
                self.recorder.stage(self.STAGE, item_id, deadline, started, dropped=True)
                self.recorder.finish(item_id, deadline, dropped=True, stage=self.STAGE)
                late.append(item)
                continue
            body = {"v": 1, "ts_ms": time.time_ns() // NS_PER_MS, "node": self.node_id, "role": item.role,
                    "source": item.source, "value": item.value}
            record = OutRecord(self.output_topic, encode(body), item.key)
            outgoing.append(Outgoing(record, [item], item_id, deadline))
            self.recorder.stage(self.STAGE, item_id, deadline, started)
        if late:
            self.checkpoint.handled(late)
        if outgoing:
            op_output.emit(outgoing, "out")
