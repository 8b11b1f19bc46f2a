"""Live translation, part 5: the program output operator (the files and cues it writes:
:mod:`mediagrid.speech.program_files`).

:class:`DubbedProgramOp` collects the source's video packets and soundtrack, the segments' captions and
dubs, releases the program through a :class:`ProgramTimeline` as the program delay passes, and records one
outcome per segment when it is decided: ``met``/``missed`` (dubbed, within or past the segment's budget),
``degraded`` (captions only) or ``dropped`` (the original passed through).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.speech.items import Batch, ProgramChunk
from mediagrid.speech.program_files import (CaptionPublisher, ProgramWriter, WebVttWriter, packet_time_s,
                                             segment_fields)
from mediagrid.speech.program_hls import HlsProgramWriter
from mediagrid.speech.timeline import Mode, SegmentPlacement, ProgramTimeline
from mediagrid.operators.base import MediagridOp

import_holoscan()
from holoscan.core import IOSpec, OperatorSpec  # noqa: E402

_PORTS = ("video", "program", "captions", "dubs")
_QUEUE = 256  # messages a port holds; the program port gets one per 30 ms chunk


class DubbedProgramOp(MediagridOp):
    """Ports (each a Batch, or ProgramChunk on ``program``; any one wakes it): ``video`` compressed packets,
    ``program`` the soundtrack and segment announcements, ``captions`` translated segments, ``dubs``
    synthesised segments. Closes its outputs when every port has ended. ``writer`` makes the program writer
    at start (MP4 or HLS; None: no program, captions and records only)."""

    def __init__(self, fragment: Any, *args: Any, timeline: ProgramTimeline,
                 writer: Callable[[], ProgramWriter | HlsProgramWriter | None],
                 vtt: WebVttWriter, publisher: CaptionPublisher | None, recorder: OutcomeRecorder,
                 control: RunControl, **kwargs: Any) -> None:
        self.timeline = timeline
        self._make_writer = writer
        self.vtt = vtt
        self.publisher = publisher
        self._writer: ProgramWriter | HlsProgramWriter | None = None
        self._video: deque[Any] = deque()
        self._ended: set[str] = set()
        self._closed = False
        super().__init__(fragment, *args, control=control, recorder=recorder, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        for port in _PORTS:
            spec.input(port).connector(IOSpec.ConnectorType.DOUBLE_BUFFER, capacity=_QUEUE,
                                       policy=IOSpec.QueuePolicy.FAULT)
        spec.or_combine_port_conditions(list(_PORTS))

    def start(self) -> None:
        self._writer = self._make_writer()

    def stop(self) -> None:
        self._close()

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        arrived = now_ns()
        for port in _PORTS:
            while (message := op_input.receive(port)) is not None:
                self._take(port, message, arrived)
        if self._closed:
            return
        final = len(self._ended) == len(_PORTS)
        first, samples, placements = self.timeline.release(None if final else arrived, now_ns())
        video = self._due_video(None if final else (first + len(samples)) / self.timeline.rate)
        for placement in placements:  # cues first: an HLS writer cuts its captions with the media
            self._place(placement)
        if self._writer is not None:
            self._writer.write_video(video)
            self._writer.write_audio(first, samples)
        if final:
            self._close()

    def _take(self, port: str, message: Any, arrived: int) -> None:
        if port == "program":
            chunk: ProgramChunk = message
            self.timeline.add(chunk)
            if chunk.audio.end:
                self._ended.add(port)
            return
        batch: Batch = message
        if port == "video":
            self._video.extend(batch.items)
        else:
            record = self.timeline.caption_arrived if port == "captions" else self.timeline.dub_arrived
            for segment in batch.items:
                record(segment, arrived)
        if batch.end:
            self._ended.add(port)

    def _due_video(self, until_s: float | None) -> list[Any]:
        """The held video packets that the released program has reached (all of them at the end)."""
        due = []
        while self._video and (until_s is None or packet_time_s(self._video[0]) < until_s):
            due.append(self._video.popleft())
        return due

    def _place(self, placement: SegmentPlacement) -> None:
        segment, cue = placement.segment, placement.cue
        if cue is not None:
            if self._writer is not None:
                self._writer.write_cue(cue)
            self.vtt.write_cue(cue)
            if self.publisher is not None:
                self.publisher.publish(cue)
        finished = placement.ready_ns if placement.ready_ns is not None else placement.decided_ns
        self.recorder.finish(segment.item_id, segment.deadline, finished,
                             degraded=placement.mode is Mode.CAPTIONS_ONLY,
                             dropped=placement.mode is Mode.PASSTHROUGH,
                             **segment_fields(placement, self.timeline.rate))

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._writer is not None:
                self._writer.close()
        finally:
            self.vtt.close()

