"""The ingest app: broadcaster topics → validate (bad ones to the dead-letter topic) → relay with source
positions to an output topic, every message under a deadline from its Kafka timestamp.

It is the feed check an operator runs first on a new site (is the broadcaster's traffic arriving, valid and
on time?), and the at-least-once path that every Kafka-fed use case shares: offsets are committed only once
a message's output is durable or its dead letter is.
"""
from __future__ import annotations

from mediagrid.apps.base import MediagridApp
from mediagrid.operators.kafka import KafkaSinkOp, KafkaSourceOp, RelayOp
from mediagrid.runtime.bootstrap import import_holoscan

import_holoscan()
from holoscan.schedulers import GreedyScheduler  # noqa: E402


class IngestApp(MediagridApp):
    DEADLINE = "message"

    def compose(self) -> None:
        config, ctx = self.mg_config, self.ctx
        own = config.sections["ingest"]
        kafka = ctx.kafka
        bridge = kafka.consume(own["roles"])
        source = KafkaSourceOp(self, bridge=bridge, control=ctx.control, max_batch=own["max_batch"], name="kafka_in")
        relay = RelayOp(self, output_topic=kafka.topic(own["output_role"]),
                        budget_ns=config.deadlines.budget_ns(self.DEADLINE), node_id=config.node.id,
                        checkpoint=bridge.checkpoint, recorder=ctx.recorder, control=ctx.control, name="relay")
        sink = KafkaSinkOp(self, checkpoint=bridge.checkpoint, recorder=ctx.recorder, control=ctx.control,
                           name="kafka_out")
        # Default ports on purpose (capacity 1 with back-pressure): a batch waits in the bridge's bounded
        # queue, where the consumer sees it and pauses, rather than in a port queue that nobody watches.
        self.add_flow(source, relay, {("items", "items")})
        self.add_flow(relay, sink, {("out", "out")})
        self.scheduler(GreedyScheduler(self, stop_on_deadlock=True, name="greedy"))
