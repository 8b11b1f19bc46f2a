"""A slow operator downstream of the Kafka source: the bridge's queue stays within its bound (the consumer
pauses its partitions instead), and every message still arrives."""
from __future__ import annotations

import time

import pytest

from mediagrid.config import KafkaConfig
from mediagrid.kafka.session import KafkaSession
from mediagrid.operators.kafka import KafkaSourceOp
from mediagrid.runtime import import_holoscan
from mediagrid.runtime.control import RunControl
from tests.integration.conftest import unique_topic
from tests.integration.kafka_helpers import produce_requests

import_holoscan()
from holoscan.core import Application, Operator  # noqa: E402
from holoscan.schedulers import GreedyScheduler  # noqa: E402

pytestmark = pytest.mark.integration

BOUND = 50


class SlowSink(Operator):
    def __init__(self, fragment, *args, bridge, control, expected, **kwargs):
        self.bridge, self.control, self.expected = bridge, control, expected
        self.seen: set[str] = set()
        self.depths: list[int] = []
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec):
        spec.input("items")

    def compute(self, op_input, op_output, context):
        items = op_input.receive("items")
        time.sleep(0.002 * len(items))  # 2 ms a message: far slower than the broker can deliver
        self.depths.append(self.bridge.depth())
        self.seen.update(i.value["request_id"] for i in items)
        self.bridge.checkpoint.handled(items)
        if len(self.seen) >= self.expected:
            self.control.request_stop("frames")


class SlowApp(Application):
    def __init__(self, session, control, expected):
        self.session, self.control, self.expected = session, control, expected
        super().__init__()

    def compose(self):
        bridge = self.session.consume(["commerce.requests"])
        source = KafkaSourceOp(self, bridge=bridge, control=self.control, max_batch=10, name="src")
        self.sink = SlowSink(self, bridge=bridge, control=self.control, expected=self.expected, name="slow")
        self.add_flow(source, self.sink, {("items", "items")})
        self.scheduler(GreedyScheduler(self, stop_on_deadlock=True, name="greedy"))


def test_slow_downstream_keeps_queue_bounded(tansu_broker, create_topic):
    topic = create_topic(tansu_broker.bootstrap)
    ids = produce_requests(tansu_broker.bootstrap, topic, 1500)
    config = KafkaConfig(bootstrap=tansu_broker.bootstrap, group=unique_topic("group"),
                         topics={"commerce.requests": topic}, max_queue=BOUND, session_timeout_ms=3000,
                         dead_letter_topic=unique_topic("dlq"))
    session = KafkaSession(config)
    control = RunControl()
    try:
        app = SlowApp(session, control, len(ids))
        future = app.run_async()
        future.result(timeout=120)
        app.shutdown_async_executor()
    finally:
        session.close()
    stats = session.stats()
    assert app.sink.seen == ids
    assert BOUND // 2 <= stats["max_queue_depth"] <= BOUND  # the bound was reached, never passed
    assert max(app.sink.depths) <= BOUND
    assert stats["committed"] == len(ids)
