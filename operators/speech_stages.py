"""Live translation, part 3: the way into a Riva stage (:mod:`mediagrid.speech.stages`). The stage's results
come back through :class:`~mediagrid.operators.worker_egress.WorkerEgressOp` (an operator cannot both wait
on an input port and on an event, so the two directions are separate operators)."""
from __future__ import annotations

from typing import Any

from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.control import RunControl
from mediagrid.speech.items import Batch
from mediagrid.operators.base import MediagridOp

import_holoscan()
from holoscan.core import OperatorSpec  # noqa: E402


class StageInputOp(MediagridOp):
    """Hands each Batch on port ``in`` to the stage, without waiting for it."""

    def __init__(self, fragment: Any, *args: Any, stage: Any, control: RunControl, **kwargs: Any) -> None:
        self.stage = stage
        super().__init__(fragment, *args, control=control, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("in")

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        batch: Batch = op_input.receive("in")
        self.stage.accept(batch.items)
        if batch.end:
            self.stage.end()
