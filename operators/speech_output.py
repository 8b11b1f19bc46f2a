"""Live translation, part 5: the program output: MP4 (video, dubbed audio, mov_text captions), WebVTT, and
caption cues on Kafka.

:class:`DubbedProgramOp` collects the source's video packets and soundtrack, the segments' captions and
dubs, releases the program through a :class:`ProgramTimeline` as the program delay passes, and records one
outcome per segment when it is decided: ``met``/``missed`` (dubbed, within or past the segment's budget),
``degraded`` (captions only) or ``dropped`` (the original passed through).
"""
from __future__ import annotations

import struct
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from mediagrid.kafka.producer import OutRecord
from mediagrid.kafka.topics import SCHEMA_VERSION, encode
from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import NS_PER_MS, ns_to_ms, now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.services.speech.languages import iso639_2
from mediagrid.operators.guard import guarded
from mediagrid.operators.speech import Batch, ProgramChunk
from mediagrid.operators.speech_timeline import Cue, Mode, Placement, ProgramTimeline

import_holoscan()
from holoscan.core import IOSpec, Operator, OperatorSpec  # noqa: E402

_CUE_TIME_BASE = Fraction(1, 1000)
_PORTS = ("video", "program", "captions", "dubs")
_QUEUE = 256  # messages a port holds; the program port gets one per 30 ms chunk


class ProgramWriter:
    """The output MP4: the source's video stream copied as is, AAC program audio, and mov_text captions."""

    def __init__(self, path: Path, source: Path, rate: int, language: str) -> None:
        import av  # noqa: PLC0415

        self._av = av
        self.rate = rate
        path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(path), mode="w")
        self.video = None
        with av.open(str(source)) as src:
            if src.streams.video:
                self.video = self.container.add_stream_from_template(src.streams.video[0])
        self.audio = self.container.add_stream("aac", rate=rate, layout="mono")
        self.subtitles = self.container.add_mux_stream("mov_text")
        self.subtitles.time_base = _CUE_TIME_BASE
        for stream in (self.audio, self.subtitles):
            stream.metadata["language"] = iso639_2(language)

    def write_video(self, packets: list[Any]) -> None:
        for packet in packets:
            if self.video is not None:
                packet.stream = self.video
                self.container.mux(packet)

    def write_audio(self, first_sample: int, pcm: np.ndarray) -> None:
        if not len(pcm):
            return
        frame = self._av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm, dtype=np.int16)[None, :], format="s16",
                                                 layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = self.rate, first_sample, Fraction(1, self.rate)
        self.container.mux(self.audio.encode(frame))

    def write_cue(self, cue: Cue) -> None:
        text = cue.text.encode("utf-8")
        packet = self._av.Packet(struct.pack(">H", len(text)) + text)  # a tx3g sample: length, then UTF-8
        packet.stream, packet.time_base = self.subtitles, _CUE_TIME_BASE
        packet.pts = packet.dts = round(cue.start_s * 1000)
        packet.duration = round(cue.end_s * 1000) - packet.pts
        self.container.mux(packet)

    def close(self) -> None:
        self.container.mux(self.audio.encode(None))
        self.container.close()


class WebVttWriter:
    """Captions as a WebVTT file, one cue appended (and flushed) as each is decided."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8")
        self._file.write("WEBVTT\n\n")

    def write_cue(self, cue: Cue) -> None:
        text = cue.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        self._file.write(f"{cue.index + 1}\n{_vtt_time(cue.start_s)} --> {_vtt_time(cue.end_s)}\n{text}\n\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


class CaptionPublisher:
    """Caption cues to the ``captions`` topic (mg.captions), keyed by stream id; delivery is counted by the
    shared producer and never waited for."""

    def __init__(self, producer: Any, topic: str, stream_id: str, language: str) -> None:
        self.producer, self.topic = producer, topic
        self.stream_id, self.language = stream_id, language

    def publish(self, cue: Cue) -> None:
        message = {"v": SCHEMA_VERSION, "ts_ms": time.time_ns() // NS_PER_MS, "stream_id": self.stream_id,
                   "cue_id": f"{self.stream_id}:cue{cue.index}", "start_pts_s": round(cue.start_s, 3),
                   "end_pts_s": round(cue.end_s, 3), "text": cue.text[:1000], "language": self.language,
                   "source_offset": cue.index}
        self.producer.send([OutRecord(self.topic, encode(message), self.stream_id.encode())])


class DubbedProgramOp(Operator):
    """Ports (each a Batch, or ProgramChunk on ``program``; any one wakes it): ``video`` compressed packets,
    ``program`` the soundtrack and segment announcements, ``captions`` translated segments, ``dubs``
    synthesised segments. Closes its outputs when every port has ended. ``writer`` makes the MP4 writer at
    start (None: no MP4, captions and records only)."""

    def __init__(self, fragment: Any, *args: Any, timeline: ProgramTimeline,
                 writer: Callable[[], ProgramWriter | None],
                 vtt: WebVttWriter, publisher: CaptionPublisher | None, recorder: OutcomeRecorder,
                 control: RunControl, on_close: list[Callable[[], None]], **kwargs: Any) -> None:
        self.timeline = timeline
        self._make_writer = writer
        self.vtt = vtt
        self.publisher = publisher
        self.recorder = recorder
        self.control = control
        self.on_close = on_close
        self._writer: ProgramWriter | None = None
        self._video: deque[Any] = deque()
        self._ended: set[str] = set()
        self._closed = False
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        for port in _PORTS:
            spec.input(port).connector(IOSpec.ConnectorType.DOUBLE_BUFFER, capacity=_QUEUE,
                                       policy=IOSpec.QueuePolicy.FAULT)
        spec.or_combine_port_conditions(list(_PORTS))

    def start(self) -> None:
        self._writer = self._make_writer()

    def stop(self) -> None:
        self._close()

    @guarded
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
        if self._writer is not None:
            self._writer.write_video(video)
            self._writer.write_audio(first, samples)
        for placement in placements:
            self._place(placement)
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
        while self._video and (until_s is None or _time_s(self._video[0]) < until_s):
            due.append(self._video.popleft())
        return due

    def _place(self, placement: Placement) -> None:
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
                             dropped=placement.mode is Mode.PASSTHROUGH, **_fields(placement, self.timeline.rate))

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._writer is not None:
                self._writer.close()
            self.vtt.close()
        finally:
            for hook in self.on_close:
                hook()


def _time_s(packet: Any) -> float:
    stamp = packet.pts if packet.pts is not None else packet.dts
    return float("-inf") if stamp is None else float(stamp * packet.time_base)


def _fields(placement: Placement, rate: int) -> dict[str, Any]:
    """What events.jsonl keeps of a segment, for reports, the perf script and the sync checks."""
    segment = placement.segment
    fields: dict[str, Any] = {
        "mode": placement.mode.value, "start_pts_s": round(segment.start_pts_s, 6),
        "end_pts_s": round(segment.end_pts_s or segment.start_pts_s, 6), "transcript": segment.transcript,
        "translation": segment.translation,
    }
    if placement.cue is not None:
        fields["cue_start_s"], fields["cue_end_s"] = round(placement.cue.start_s, 6), round(placement.cue.end_s, 6)
    if placement.mode is Mode.DUBBED:
        fields.update(dub_start_s=round(placement.dub_start / rate, 6),
                      dub_ms=round(placement.dub_samples * 1000 / rate, 1))
    if segment.first_audio_ns is not None:
        fields["first_audio_ms"] = round(ns_to_ms(segment.first_audio_ns - segment.speech_end_ns), 3)
    if segment.dub_rate_percent != 100:
        fields["dub_rate_percent"] = segment.dub_rate_percent
    if placement.truncated_ms:
        fields["truncated_ms"] = round(placement.truncated_ms, 1)
    if segment.failure:
        fields["failure"] = segment.failure
    return fields
