"""The base of operators fed from another thread (a Kafka consumer, a gRPC worker, an inference worker).

The feeding thread calls :meth:`FedOp.wake` when it has something; the scheduler then runs ``compute()``,
which takes what is there and says with :meth:`FedOp.waiting` whether more is left. Nothing polls and
nothing blocks a scheduler thread: an ``AsynchronousCondition`` carries the wake-ups, and one lock keeps
a wake-up that races with ``compute()`` from being lost.
"""
from __future__ import annotations

import threading
from typing import Any

from mediagrid.runtime.bootstrap import import_holoscan

import_holoscan()
from holoscan.conditions import AsynchronousCondition, AsynchronousEventState  # noqa: E402
from holoscan.core import Operator  # noqa: E402

_DONE, _WAITING, _NEVER = (AsynchronousEventState.EVENT_DONE, AsynchronousEventState.EVENT_WAITING,
                           AsynchronousEventState.EVENT_NEVER)


class FedOp(Operator):
    def __init__(self, fragment: Any, *args: Any, **kwargs: Any) -> None:
        self._feed_lock = threading.Lock()
        self._ready = AsynchronousCondition(fragment, name=f"{kwargs.get('name', type(self).__name__)}_ready")
        super().__init__(fragment, self._ready, *args, **kwargs)

    def wake(self) -> None:
        """From any thread: there is work (or a stop request) for ``compute()``."""
        with self._feed_lock:
            if self._ready.event_state != _NEVER:
                self._ready.event_state = _DONE

    def waiting(self, more: bool = False) -> None:
        """In ``compute()``: run again at once if ``more`` is left, else sleep until the next :meth:`wake`."""
        with self._feed_lock:
            if self._ready.event_state != _NEVER:
                self._ready.event_state = _DONE if more else _WAITING

    def finish(self) -> None:
        """In ``compute()``: no more input will come; the graph drains what is in flight, then ends."""
        with self._feed_lock:
            self._ready.event_state = _NEVER
