"""A media file read as a live feed would arrive: audio decoded and resampled twice (16 kHz for speech, the
program rate for the output), video kept compressed, each held until it is due."""
from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from mediagrid.errors import MediaError
from mediagrid.speech.audio import SPEECH_RATE, SampleFifo

_AV_TIME_BASE = 1_000_000


class Demuxer:
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

