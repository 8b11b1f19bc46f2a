"""The two bases every mediagrid operator builds on.

:class:`MediagridOp` holds what each operator needs from the run (its :class:`RunControl`, and the outcome
recorder where it records) and guards ``compute()``: an exception on a Holoscan worker thread would
otherwise die silently and leave the graph waiting; here it is handed to the run control (the runner
re-raises it with its context once the graph ends) and the operator stops.

:class:`FedOp` is the base of operators fed from another thread (a Kafka consumer, a gRPC or inference
worker). The feeding thread calls :meth:`FedOp.wake` when it has something; the scheduler then runs
``compute()``, which takes what is there and says with :meth:`FedOp.waiting` whether more is left. Nothing
polls and nothing blocks a scheduler thread: an ``AsynchronousCondition`` carries the wake-ups, and one
lock keeps a wake-up that races with ``compute()`` from being lost.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.control import RunControl

import_holoscan()
from holoscan.conditions import AsynchronousCondition, AsynchronousEventState  # noqa: E402
from holoscan.core import Operator  # noqa: E402

_DONE, _WAITING, _NEVER = (AsynchronousEventState.EVENT_DONE, AsynchronousEventState.EVENT_WAITING,
                           AsynchronousEventState.EVENT_NEVER)


def _guarded(compute: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(compute)
    def wrapper(self: MediagridOp, op_input: Any, op_output: Any, context: Any) -> Any:
        try:
            return compute(self, op_input, op_output, context)
        except Exception as exc:  # noqa: BLE001 - re-raised by the runner with its context
            self.control.fail(exc)
            self.stop_execution()
            return None

    wrapper.__mediagrid_guarded__ = True  # type: ignore[attr-defined]
    return wrapper


class MediagridOp(Operator):
    """Subclasses set their own attributes, then call ``super().__init__(fragment, ..., control=...)`` last;
    every ``compute()`` a subclass defines is guarded without a decorator."""

    def __init__(self, fragment: Any, *args: Any, control: RunControl, recorder: OutcomeRecorder | None = None,
                 **kwargs: Any) -> None:
        self.control = control
        self.recorder = recorder
        super().__init__(fragment, *args, **kwargs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        compute = cls.__dict__.get("compute")
        if compute is not None and not getattr(compute, "__mediagrid_guarded__", False):
            cls.compute = _guarded(compute)


class FedOp(MediagridOp):
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
