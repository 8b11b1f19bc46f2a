"""Where the translated program goes: the MP4 (the source's video, AAC program audio, mov_text captions), a
WebVTT file, caption cues on Kafka, and what events.jsonl keeps of each segment."""
from __future__ import annotations

import struct
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from mediagrid.kafka.producer import OutRecord
from mediagrid.kafka.topics import SCHEMA_VERSION, encode
from mediagrid.runtime.clock import NS_PER_MS, ns_to_ms
from mediagrid.speech.languages import iso639_2
from mediagrid.speech.timeline import Cue, Mode, SegmentPlacement

_CUE_TIME_BASE = Fraction(1, 1000)


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


def packet_time_s(packet: Any) -> float:
    """A compressed packet's instant in seconds (its PTS, else its DTS; -inf when it has neither)."""
    stamp = packet.pts if packet.pts is not None else packet.dts
    return float("-inf") if stamp is None else float(stamp * packet.time_base)


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



def segment_fields(placement: SegmentPlacement, rate: int) -> dict[str, Any]:
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
