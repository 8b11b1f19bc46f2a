"""The recommendation app's operators around its :class:`~mediagrid.recsys.worker.RecsysWorker`.

Graph: ``KafkaSourceOp -> RecsysIngressOp`` hands parsed requests to the worker, which serves them on its own
thread (never on a scheduler thread); ``WorkerEgressOp -> KafkaSinkOp`` emits the worker's answers, and the
sink records each outcome once its answer is durable.
"""
from __future__ import annotations

from typing import Any

from mediagrid.recsys.worker import RecsysWorker, parse_requests
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.control import RunControl
from mediagrid.operators.base import MediagridOp

import_holoscan()
from holoscan.core import OperatorSpec  # noqa: E402


class RecsysIngressOp(MediagridOp):
    """Parses each batch of requests and hands it to the worker; never waits for it."""

    def __init__(self, fragment: Any, *args: Any, worker: RecsysWorker, max_budget_ns: int, control: RunControl,
                 **kwargs: Any) -> None:
        self.worker = worker
        self.max_budget_ns = max_budget_ns
        super().__init__(fragment, *args, control=control, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("items")

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        self.worker.submit(parse_requests(op_input.receive("items"), self.max_budget_ns))
