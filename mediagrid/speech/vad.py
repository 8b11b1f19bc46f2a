"""Incremental voice-activity segmentation with webrtcvad, for the graph and for the server's endpointing.

Audio is cut into fixed frames; a segment opens after ``start_frames`` voiced frames in a row (its start is
the first of them) and closes after ``end_frames`` unvoiced ones (its end is the end of the last voiced
frame), or when it reaches ``max_segment_ms`` (a forced end: speech goes on without a pause). webrtcvad
judges spectra, not levels, and calls faint hiss speech; frames below ``floor_dbfs`` (RMS) never count as
voiced. The audio
handed on with a segment also carries ``pre_roll_ms`` before the start and the trailing silence, which the
recogniser uses as context; the start and end times are only those of the voiced frames.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import webrtcvad

from mediagrid.speech.audio import SPEECH_RATE


@dataclass(frozen=True, slots=True)
class VadSettings:
    mode: int = 2  # webrtcvad aggressiveness, 0 (least) to 3 (most eager to call a frame unvoiced)
    frame_ms: int = 30  # 10, 20 or 30: what webrtcvad accepts
    start_ms: int = 90
    end_ms: int = 300
    pre_roll_ms: int = 150
    max_segment_ms: int = 5000
    floor_dbfs: float = -50.0  # quieter frames are unvoiced whatever webrtcvad says (it flags faint hiss)

    @property
    def start_frames(self) -> int:
        return max(1, -(-self.start_ms // self.frame_ms))

    @property
    def end_frames(self) -> int:
        return max(1, -(-self.end_ms // self.frame_ms))


class VoiceEventKind(str, Enum):
    START = "start"  # a segment opened at pts_s; pcm holds the pre-roll and the first voiced frames
    AUDIO = "audio"  # more audio of the open segment
    END = "end"  # the segment closed; pts_s is where its speech ended


@dataclass(slots=True)
class VoiceEvent:
    kind: VoiceEventKind
    pts_s: float
    pcm: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    forced: bool = False  # END only: cut at max_segment_ms, with no pause after it


class VadSegmenter:
    """Feed contiguous mono int16 audio with :meth:`push`; call :meth:`flush` at the end of the stream."""

    def __init__(self, settings: VadSettings = VadSettings(), sample_rate: int = SPEECH_RATE) -> None:
        if settings.frame_ms not in (10, 20, 30):
            raise ValueError(f"webrtcvad frames are 10, 20 or 30 ms, not {settings.frame_ms}")
        self.settings = settings
        self.sample_rate = sample_rate
        self.frame_len = sample_rate * settings.frame_ms // 1000
        self._vad = webrtcvad.Vad(settings.mode)
        self._pending = np.zeros(0, np.int16)
        self._base_pts: float | None = None
        self._frames_done = 0
        keep = -(-settings.pre_roll_ms // settings.frame_ms) + settings.start_frames
        self._history: deque[np.ndarray] = deque(maxlen=keep)  # recent frames while no segment is open
        self._voiced_run = 0
        self._open = False
        self._start_pts = 0.0
        self._last_voiced_end = 0.0
        self._silent_run = 0
        self._floor = (10 ** (settings.floor_dbfs / 20) * 32768) ** 2 * self.frame_len  # energy per frame

    def _loud(self, frame: np.ndarray) -> bool:
        samples = frame.astype(np.float32)
        return float(np.dot(samples, samples)) >= self._floor

    @property
    def in_segment(self) -> bool:
        return self._open

    def frame_pts(self, index: int) -> float:
        return (self._base_pts or 0.0) + index * self.settings.frame_ms / 1000

    @property
    def processed_pts(self) -> float:
        """The end of the audio that has been classified so far."""
        return self.frame_pts(self._frames_done)

    def push(self, pcm: np.ndarray, pts_s: float) -> list[VoiceEvent]:
        """Classify ``pcm`` (which starts at ``pts_s``, right after the previous push) frame by frame."""
        if self._base_pts is None:
            self._base_pts = pts_s
        audio = np.concatenate([self._pending, pcm]) if len(self._pending) else pcm
        whole = len(audio) // self.frame_len * self.frame_len
        self._pending = audio[whole:].copy()
        events: list[VoiceEvent] = []
        for offset in range(0, whole, self.frame_len):
            self._frame(audio[offset:offset + self.frame_len], events)
        return _merge_audio(events)

    def flush(self) -> list[VoiceEvent]:
        """Close the open segment, if any, at the end of the stream (the partial last frame is dropped)."""
        if not self._open:
            return []
        self._open = False
        return [VoiceEvent(VoiceEventKind.END, self._last_voiced_end)]

    def _frame(self, frame: np.ndarray, events: list[VoiceEvent]) -> None:
        index = self._frames_done
        self._frames_done += 1
        voiced = self._loud(frame) and self._vad.is_speech(frame.tobytes(), self.sample_rate)
        start, end = self.frame_pts(index), self.frame_pts(index + 1)
        if not self._open:
            self._history.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self.settings.start_frames:
                self._open = True
                self._start_pts = self.frame_pts(index + 1 - self._voiced_run)
                self._last_voiced_end, self._silent_run = end, 0
                events.append(VoiceEvent(VoiceEventKind.START, self._start_pts, np.concatenate(self._history)))
                self._history.clear()
                self._voiced_run = 0
            return
        events.append(VoiceEvent(VoiceEventKind.AUDIO, start, frame))
        if voiced:
            self._last_voiced_end, self._silent_run = end, 0
        else:
            self._silent_run += 1
        if self._silent_run >= self.settings.end_frames:
            self._open = False
            events.append(VoiceEvent(VoiceEventKind.END, self._last_voiced_end))
        elif (end - self._start_pts) * 1000 >= self.settings.max_segment_ms - 1e-6:
            self._open = False
            events.append(VoiceEvent(VoiceEventKind.END, end, forced=True))


def _merge_audio(events: list[VoiceEvent]) -> list[VoiceEvent]:
    """One AUDIO event per run of frames, so that a push costs one hop downstream, not one per frame."""
    merged: list[VoiceEvent] = []
    run: list[np.ndarray] = []
    run_pts = 0.0
    for event in events:
        if event.kind is VoiceEventKind.AUDIO:
            if not run:
                run_pts = event.pts_s
            run.append(event.pcm)
            continue
        if run:
            merged.append(VoiceEvent(VoiceEventKind.AUDIO, run_pts, np.concatenate(run)))
            run = []
        merged.append(event)
    if run:
        merged.append(VoiceEvent(VoiceEventKind.AUDIO, run_pts, np.concatenate(run)))
    return merged
