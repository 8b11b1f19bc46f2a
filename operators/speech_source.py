"""Live translation, part 2: the media source, a file played out as if it were a live feed.

Audio is decoded and resampled twice (16 kHz for speech, the program rate for the output) and released in
fixed chunks when a live capture would have each chunk complete; video stays compressed and is released
packet by packet when its time comes. Nothing touches the pictures, so the video is passed through to the
output untouched and cannot drift: the output's sync is decided by the pts alone.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import NS_PER_S, now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.speech.audio import SPEECH_RATE
from mediagrid.speech.demux import Demuxer
from mediagrid.speech.items import AudioChunk, Batch
from mediagrid.operators.base import MediagridOp

import_holoscan()
from holoscan.conditions import PeriodicCondition, PeriodicConditionPolicy  # noqa: E402
from holoscan.core import OperatorSpec  # noqa: E402




class MediaSourceOp(MediagridOp):
    """Emits a Batch of compressed video packets on ``video`` and an :class:`AudioChunk` on ``audio`` per
    tick of a ``chunk_ms`` grid; at the end of the file, or on a stop request, a last chunk with ``end``."""

    def __init__(self, fragment: Any, *args: Any, path: Path, chunk_ms: int, program_rate: int,
                 control: RunControl, **kwargs: Any) -> None:
        self.path = Path(path)
        self.chunk_s = chunk_ms / 1000
        self.program_rate = program_rate
        self._demux: Demuxer | None = None
        self._origin_ns: int | None = None
        self._speech_released = 0
        self._program_released = 0
        pacing = PeriodicCondition(fragment, chunk_ms * 1_000_000,
                                   policy=PeriodicConditionPolicy.NO_CATCH_UP_MISSED_TICKS,
                                   name=f"{kwargs.get('name', 'media')}_pacing")
        super().__init__(fragment, pacing, *args, control=control, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.output("audio")
        spec.output("video")

    def start(self) -> None:
        self._demux = Demuxer(self.path, self.program_rate)

    def stop(self) -> None:
        if self._demux is not None:
            self._demux.close()
            self._demux = None

    def compute(self, op_input: Any, op_output: Any, context: Any) -> None:
        at = now_ns()
        if self._origin_ns is None:
            self._origin_ns = at
            self.control.start_clock()
        elapsed_s = (at - self._origin_ns) / NS_PER_S
        stopping = self.control.should_stop(0, at)
        complete = int(elapsed_s / self.chunk_s + 1e-9)  # chunks fully captured by now
        demux = self._demux
        demux.fill(complete * round(self.chunk_s * SPEECH_RATE))
        speech = demux.fifos[0].take(complete * round(self.chunk_s * SPEECH_RATE) - self._speech_released)
        program = demux.fifos[1].take(round(complete * self.chunk_s * self.program_rate) - self._program_released)
        end = stopping or (demux.exhausted and not demux.fifos[0].size and not demux.fifos[1].size)
        video = demux.due_video(elapsed_s)
        if video or end:
            op_output.emit(Batch(video, end), "video")
        if len(speech) or len(program) or end:
            op_output.emit(AudioChunk(self._speech_released / SPEECH_RATE, speech, program, self._origin_ns, end),
                           "audio")
        self._speech_released += len(speech)
        self._program_released += len(program)
        if end:
            self.stop_execution()
