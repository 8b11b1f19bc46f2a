"""One operator for the way out of every worker thread (recommendation serving, the speech stages).

Work that must not run on a scheduler thread (a batch of searches, a Riva call) runs on a worker's own
thread; the worker calls ``on_ready`` when it has finished something, and this operator emits it from
``compute()`` without ever waiting. The worker also says when its stream is over, and the operator then
ends, so the graph drains instead of waiting forever.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.control import RunControl
from mediagrid.operators.base import FedOp

import_holoscan()
from holoscan.core import OperatorSpec  # noqa: E402


class FinishingWorker(Protocol):
    on_ready: Callable[[], None]

    def take(self) -> tuple[Any | None, bool]:
        """(the message to emit, or None; whether the worker's stream is over), from any thread."""


class WorkerEgressOp(FedOp):
    """Emits the worker's finished work on port ``out``."""

    def __init__(self, fragment: Any, *args: Any, worker: FinishingWorker, control: RunControl,
                 **kwargs: Any) -> None:
        self.worker = worker
        worker.on_ready = self.wake
        super().__init__(fragment, *args, control=control, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.output("out")

    def start(self) -> None:
        self.waiting()

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        self.waiting()  # before take: work finished meanwhile wakes it again
        message, over = self.worker.take()
        if message is not None:
            op_output.emit(message, "out")
        if over:
            self.finish()
