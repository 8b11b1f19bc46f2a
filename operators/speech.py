"""Live translation, part 1: the VAD stage, which opens and closes the speech segments (the work items,
:mod:`mediagrid.speech.items`) and hands the program's soundtrack on to the output."""
from __future__ import annotations

from typing import Any

import numpy as np

from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.speech.items import AudioChunk, Batch, ProgramChunk, ProgramPlan, Segment, SegmentEvent
from mediagrid.speech.vad import VadSegmenter, VadSettings, VoiceEventKind
from mediagrid.operators.base import MediagridOp

import_holoscan()
from holoscan.core import OperatorSpec  # noqa: E402

VAD_STAGE = "vad"


class VadOp(MediagridOp):
    """Segments the speech audio (webrtcvad) and hands it on twice: per segment to the recogniser (port
    ``events``, a Batch of SegmentEvent), and as the program's soundtrack to the output (port ``program``)."""

    def __init__(self, fragment: Any, *args: Any, stream_id: str, settings: VadSettings, plan: ProgramPlan,
                 recorder: OutcomeRecorder, control: RunControl, **kwargs: Any) -> None:
        self.stream_id = stream_id
        self.settings = settings
        self.plan = plan
        self._segmenter = VadSegmenter(settings)
        self._current: Segment | None = None
        self._count = 0
        super().__init__(fragment, *args, control=control, recorder=recorder, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("audio")
        spec.output("events")
        spec.output("program")

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        chunk: AudioChunk = op_input.receive("audio")
        voice = self._segmenter.push(chunk.speech, chunk.pts_s)
        if chunk.end:
            voice += self._segmenter.flush()
        events: list[SegmentEvent] = []
        opened: list[Segment] = []
        for event in voice:
            if event.kind is VoiceEventKind.START:
                self._current = Segment(self.stream_id, self._count, event.pts_s, chunk.origin_ns)
                self._count += 1
                opened.append(self._current)
                events.append(SegmentEvent(self._current, event.pcm, opened=True))
            elif event.kind is VoiceEventKind.AUDIO:
                events.append(SegmentEvent(self._current, event.pcm))
            else:
                events.append(SegmentEvent(self._close(event.pts_s, event.forced), np.zeros(0, np.int16), closed=True))
        if events or chunk.end:
            op_output.emit(Batch(events, chunk.end), "events")
        horizon = self._segmenter.processed_pts - self.settings.start_frames * self.settings.frame_ms / 1000
        op_output.emit(ProgramChunk(chunk, opened, horizon), "program")

    def _close(self, end_pts_s: float, forced: bool) -> Segment:
        segment, self._current = self._current, None
        segment.end_pts_s, segment.forced_end = end_pts_s, forced
        segment.closed_ns = now_ns()
        segment.deadline = self.plan.deadline(segment)
        self.recorder.stage(VAD_STAGE, segment.item_id, segment.deadline, segment.speech_end_ns, segment.closed_ns)
        return segment
