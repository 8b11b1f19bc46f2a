"""A run's Kafka resources in one place: the loop thread, the shared producer, the consumer bridges and,
for ``bootstrap: embedded``, the broker this process started. Closing them in the right order is what
keeps at-least-once true: deliveries flush before the final commit, the broker stops last."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from mediagrid.config import KafkaConfig
from mediagrid.kafka.brokers import embedded_bootstrap
from mediagrid.kafka.consumer import ConsumerBridge
from mediagrid.kafka.loop import LoopThread
from mediagrid.kafka.producer import SharedProducer
from mediagrid.kafka.topics import topic_name


class KafkaSession:
    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self._broker: Any = None
        if config.bootstrap == "embedded":
            self.bootstrap, self._broker = embedded_bootstrap()
        else:
            self.bootstrap = config.bootstrap
        self.loop = LoopThread()
        self.producer = SharedProducer(self.loop, self.bootstrap).start()
        self.bridges: list[ConsumerBridge] = []

    def topic(self, role: str) -> str:
        """The topic name for ``role``: the config's ``kafka.topics`` entry, else the contract default."""
        return topic_name(role, self.config.topics)

    def consume(self, roles: Iterable[str]) -> ConsumerBridge:
        """A started bridge over the topics of ``roles``; items wait in its bounded queue for the graph."""
        bridge = ConsumerBridge(self.config, self.bootstrap, {self.topic(r): r for r in roles}, self.loop,
                                self.producer)
        self.bridges.append(bridge.start())
        return bridge

    def stats(self) -> dict[str, int]:
        """The summary's ``kafka`` section; ``produced`` counts every delivered record, dead letters included."""
        totals: Counter[str] = Counter({"consumed": 0, "dead_lettered": 0, "committed": 0, "lag": 0})
        for bridge in self.bridges:
            stats = bridge.stats()
            totals["max_queue_depth"] = max(totals["max_queue_depth"], stats.pop("max_queue_depth"))
            totals.update(stats)
        totals["queue_depth"] = sum(bridge.depth() for bridge in self.bridges)
        return {**totals, **self.producer.stats()}

    def close(self) -> None:
        for bridge in self.bridges:
            bridge.close()
        self.producer.stop()
        self.loop.stop()
        if self._broker is not None:
            self._broker.stop()
