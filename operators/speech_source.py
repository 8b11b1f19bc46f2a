"""Live translation, part 2: the media source, a file played out as if it were a live feed.

Audio is decoded and resampled twice (16 kHz for speech, the program rate for the output) and released in
fixed chunks when a live capture would have each chunk complete; video stays compressed and is released
packet by packet when its time comes. Nothing touches the pictures, so the video is passed through to the
output untouched and cannot drift: the output's sync is decided by the pts alone.
"""
from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from mediagrid.errors import MediaError
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import NS_PER_S, now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.services.speech.audio import SPEECH_RATE, SampleFifo
from mediagrid.operators.guard import guarded
from mediagrid.operators.speech import AudioChunk, Batch

import_holoscan()
from holoscan.conditions import PeriodicCondition, PeriodicConditionPolicy  # noqa: E402
from holoscan.core import Operator, OperatorSpec  # noqa: E402

_AV_TIME_BASE = 1_000_000


class _Demuxer:
    """Reads the file in demux order, keeping decoded audio and compressed video until they are due."""

    def __init__(self, path: Path, program_rate: int) -> None:
        import av  # noqa: PLC0415

        self._av = av
        try:
            self.container = av.open(str(path))
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"{path}: cannot open as media ({exc})") from exc
        if not self.container.streams.audio:
            self.container.close()
            raise MediaError(f"{path}: has no audio stream to translate")
        self.path = path
        self.audio = self.container.streams.audio[0]
        self.video = self.container.streams.video[0] if self.container.streams.video else None
        start = self.container.start_time
        self.origin_s = start / _AV_TIME_BASE if start is not None else 0.0
        self._video_shift = round(self.origin_s / self.video.time_base) if self.video is not None else 0
        self._packets = self.container.demux(*[s for s in (self.audio, self.video) if s is not None])
        self.rates = (SPEECH_RATE, program_rate)
        self._resamplers = [av.AudioResampler(format="s16", layout="mono", rate=r) for r in self.rates]
        self.fifos = (SampleFifo(), SampleFifo())
        self.video_packets: deque[Any] = deque()
        self.exhausted = False
        self._audio_started = False

    def fill(self, speech_samples: int) -> None:
        """Demux until ``speech_samples`` of speech audio are decoded (or the file ends)."""
        while not self.exhausted and self.fifos[0].size < speech_samples:
            try:
                packet = next(self._packets, None)
                if packet is None:
                    self.exhausted = True
                    self._resample(None)
                elif packet.stream is self.audio:
                    for frame in packet.decode():
                        self._resample(frame)
                elif packet.size:  # demux ends each stream with an empty flush packet
                    packet.pts = None if packet.pts is None else packet.pts - self._video_shift
                    packet.dts = None if packet.dts is None else packet.dts - self._video_shift
                    self.video_packets.append(packet)
            except self._av.error.FFmpegError as exc:
                raise MediaError(f"{self.path}: decoding failed ({exc})") from exc

    def _resample(self, frame: Any) -> None:
        if frame is not None and not self._audio_started:
            self._audio_started = True
            lead_s = (frame.time or 0.0) - self.origin_s  # audio that starts after the video: pad silence
            for fifo, rate in zip(self.fifos, self.rates):
                fifo.put(np.zeros(max(0, round(lead_s * rate)), np.int16))
        for fifo, resampler in zip(self.fifos, self._resamplers):
            for out in resampler.resample(frame):
                fifo.put(out.to_ndarray().reshape(-1).astype(np.int16, copy=False))

    def due_video(self, until_s: float) -> list[Any]:
        """Compressed video packets whose decode time has come (all of them once the file has ended)."""
        due = []
        while self.video_packets:
            packet = self.video_packets[0]
            dts = packet.dts if packet.dts is not None else packet.pts
            if not self.exhausted and dts is not None and float(dts * packet.time_base) > until_s:
                break
            due.append(self.video_packets.popleft())
        return due

    def close(self) -> None:
        self.container.close()


class MediaSourceOp(Operator):
    """Emits a Batch of compressed video packets on ``video`` and an :class:`AudioChunk` on ``audio`` per
    tick of a ``chunk_ms`` grid; at the end of the file, or on a stop request, a last chunk with ``end``."""

    def __init__(self, fragment: Any, *args: Any, path: Path, chunk_ms: int, program_rate: int,
                 control: RunControl, **kwargs: Any) -> None:
        self.path = Path(path)
        self.chunk_s = chunk_ms / 1000
        self.program_rate = program_rate
        self.control = control
        self._demux: _Demuxer | None = None
        self._origin_ns: int | None = None
        self._speech_released = 0
        self._program_released = 0
        pacing = PeriodicCondition(fragment, chunk_ms * 1_000_000,
                                   policy=PeriodicConditionPolicy.NO_CATCH_UP_MISSED_TICKS,
                                   name=f"{kwargs.get('name', 'media')}_pacing")
        super().__init__(fragment, pacing, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.output("audio")
        spec.output("video")

    def start(self) -> None:
        self._demux = _Demuxer(self.path, self.program_rate)

    def stop(self) -> None:
        if self._demux is not None:
            self._demux.close()
            self._demux = None

    @guarded
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
