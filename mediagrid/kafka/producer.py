"""The run's shared Kafka producer: outputs, node status and dead letters all leave through it.

Delivery is confirmed asynchronously; every failure is counted and kept (with its reason) for the summary,
and the caller's callback learns the outcome, so an input is acknowledged only once its output is durable.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from mediagrid.errors import BrokerError
from mediagrid.kafka.loop import LoopThread

log = logging.getLogger(__name__)

DeliveryCallback = Callable[[BaseException | None], None]


@dataclass(frozen=True, slots=True)
class OutRecord:
    topic: str
    value: bytes
    key: bytes | None = None


class SharedProducer:
    def __init__(self, loop: LoopThread, bootstrap: str, *, linger_ms: int = 2, max_request_size: int = 4 << 20,
                 request_timeout_ms: int = 30_000) -> None:
        self._loop = loop
        self.bootstrap = bootstrap
        self._options = dict(bootstrap_servers=bootstrap, acks="all", linger_ms=linger_ms,
                             max_request_size=max_request_size, request_timeout_ms=request_timeout_ms)
        self._producer: AIOKafkaProducer | None = None
        self._lock = threading.Lock()
        self.produced = 0
        self.delivery_errors = 0
        self.recent_errors: deque[str] = deque(maxlen=20)

    async def _start(self) -> None:
        self._producer = AIOKafkaProducer(**self._options)  # aiokafka binds to the loop it is created on
        await self._producer.start()

    def start(self, timeout: float = 30.0) -> SharedProducer:
        try:
            self._loop.run(self._start(), timeout)
        except Exception as exc:
            raise BrokerError(f"cannot connect a producer to {self.bootstrap}: {exc}") from exc
        return self

    def _record(self, error: BaseException | None, count: int) -> None:
        with self._lock:
            if error is None:
                self.produced += count
            else:
                self.delivery_errors += count
                self.recent_errors.append(f"{type(error).__name__}: {error}")
        if error is not None:
            log.error("kafka delivery failed for %d record(s): %s", count, error)

    async def send_batch(self, records: Iterable[OutRecord], on_done: DeliveryCallback | None = None) -> None:
        """On the loop: send all, then report one outcome (the first error, if any) for the batch."""
        records = list(records)
        error: BaseException | None = None
        try:
            futures = [await self._producer.send(r.topic, r.value, key=r.key) for r in records]
            results = await asyncio.gather(*futures, return_exceptions=True)
            error = next((r for r in results if isinstance(r, BaseException)), None)
        except Exception as exc:  # noqa: BLE001 - surfaced through the counters and the callback
            error = exc
        self._record(error, len(records))
        if on_done is not None:
            on_done(error)

    def send(self, records: Iterable[OutRecord], on_done: DeliveryCallback | None = None) -> None:
        """From any thread: queue ``records`` for delivery without waiting."""
        self._loop.submit(self.send_batch(records, on_done))

    async def flush_async(self) -> None:
        """On the loop: wait until everything sent so far is delivered or failed."""
        if self._producer is not None:
            await self._producer.flush()

    def flush(self, timeout: float = 30.0) -> None:
        self._loop.run(self.flush_async(), timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self._producer is None:
            return
        try:
            self._loop.run(self._producer.stop(), timeout)
        except Exception as exc:  # noqa: BLE001 - stopping must not hide the run's own result
            log.warning("producer stop failed: %s", exc)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"produced": self.produced, "delivery_errors": self.delivery_errors}
