"""The deadline gate: one place where a frame path applies the use case's policy before costly work."""
from __future__ import annotations

from typing import Any

from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import ms_to_ns, now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.scheduler.deadline import Action, Policy, decide
from mediagrid.media import frames
from mediagrid.operators.base import MediagridOp

import_holoscan()
from holoscan.core import OperatorSpec  # noqa: E402


class DeadlineGateOp(MediagridOp):
    """Lets a frame on when the rest of its budget covers the next stage's estimate; otherwise applies the
    policy: ``drop`` ends the item here (recorded), ``degrade`` and ``reuse`` mark it for the next stage."""

    def __init__(self, fragment: Any, *args: Any, stage: str, estimate_ms: float, policy: Policy,
                 recorder: OutcomeRecorder, control: RunControl, **kwargs: Any) -> None:
        self.stage = stage
        self.estimate_ns = ms_to_ns(estimate_ms)
        self.policy = Policy(policy)
        super().__init__(fragment, *args, control=control, recorder=recorder, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("frame")
        spec.output("frame")

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        frame = op_input.receive("frame")
        started = now_ns()
        meta = self.metadata
        deadline = frames.deadline_of(meta)
        action = decide(deadline.remaining_ns(started), self.estimate_ns, self.policy)
        item = frames.item_id(meta)
        if action is Action.DROP:
            self.recorder.stage(self.stage, item, deadline, started, dropped=True)
            self.recorder.finish(item, deadline, dropped=True, stage=self.stage)
            return
        # a frame that came degraded (a live source's stand-in through a feed gap) stays degraded
        meta[frames.DEGRADED] = bool(meta[frames.DEGRADED]) or action is Action.DEGRADE
        meta[frames.REUSE] = action is Action.REUSE
        self.recorder.stage(self.stage, item, deadline, started,
                            degraded=action is not Action.RUN or bool(meta[frames.DEGRADED]))
        op_output.emit(frame, "frame")
