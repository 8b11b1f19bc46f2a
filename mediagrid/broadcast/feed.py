"""A live MPEG-TS feed (UDP or SRT): demuxed and decoded on a thread of its own, off the scheduler's threads.

The reader thread owns the network side: it connects (and reconnects with back-off when the feed stops), demuxes
every elementary stream, decodes the video into a ring of 4:2:0 frame buffers, and hands the graph three
queues: decoded frames stamped with their arrival time and their unwrapped 90 kHz PTS, the program audio as
packets (remuxed, never re-encoded, by the outputs), and SCTE-35 sections. Pacing is not done here: the source
operator plays frames out by their PTS (:mod:`mediagrid.broadcast.playout`).

UDP is read by PyAV's own FFmpeg. SRT is not built into the FFmpeg that PyAV wheels carry, so an ``srt://`` feed
is received by the system's ``ffmpeg`` (a relay that copies the transport stream, untouched, onto a pipe) and
demuxed from that pipe by the same code.
"""
from __future__ import annotations

import logging
import queue
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mediagrid.errors import MediaError, UsageError
from mediagrid.media.codecs import RING, PlaneRing
from mediagrid.media.yuv import Colour, Layout
from mediagrid.runtime.clock import now_ns

log = logging.getLogger(__name__)

PTS_HZ = 90_000
PTS_WRAP = 1 << 33
SCHEMES = ("udp", "srt")
SCTE35_TABLE_ID = 0xFC
PROBE_BYTES = 32_768
AUDIO_WAIT_S = 2.0  # after the first picture, for the first decodable audio packet


@dataclass(frozen=True)
class FeedFormat:
    """What the feed's video is, known from its first decoded frame."""

    width: int
    height: int
    fps: float
    colour: Colour
    has_audio: bool


@dataclass(frozen=True)
class AudioFormat:
    """What the outputs need to carry the feed's audio packets as they are: codec, rate and channel layout, learnt
    by decoding the first packet (a short probe of a live feed often leaves them unknown)."""

    codec: str
    sample_rate: int
    layout: str
    samples: int  # per packet: the PTS of packets that carry none (a PES holds several) follow from it

    @property
    def packet_ticks(self) -> float:
        return self.samples * PTS_HZ / self.sample_rate


@dataclass(frozen=True)
class FeedFrame:
    """A decoded picture: ``pts`` on the feed's unwrapped 90 kHz clock; ``buffer`` is a ring slot, valid while the
    ring's other slots are filled."""

    pts: int
    buffer: Any
    arrival_ns: int


@dataclass
class FeedCounts:
    """What the reader saw; written to the run summary with the app's other counters."""

    frames: int = 0
    audio_packets: int = 0
    cue_sections: int = 0
    connects: int = 0
    reconnects: int = 0
    read_errors: int = 0
    decode_errors: int = 0
    frames_overrun: int = 0  # decoded frames thrown away because the graph fell too far behind
    packets_without_pts: int = 0
    last_problem: str = ""


class PtsUnwrapper:
    """33-bit MPEG PTS onto an unbounded tick count: each value is placed nearest the previous one, so a wrap
    (every 26.5 hours) continues the count and a jump (a new encoder session) stays a jump."""

    def __init__(self) -> None:
        self._last: int | None = None

    def __call__(self, pts: int) -> int:
        if self._last is None:
            self._last = pts
            return pts
        base = self._last - self._last % PTS_WRAP
        candidates = (base - PTS_WRAP + pts, base + pts, base + PTS_WRAP + pts)
        self._last = min(candidates, key=lambda c: abs(c - self._last))
        return self._last


@dataclass(frozen=True)
class FeedSettings:
    """How patient the reader is: ``connect_timeout_s`` for the first picture (after that the run fails with a
    clear error), ``read_timeout_s`` of silence before the connection counts as lost, back-off between attempts."""

    url: str
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 1.0
    backoff_s: tuple[float, float] = (0.2, 2.0)
    queue_frames: int = 30


def check_url(url: str, where: str) -> str:
    """``udp://host:port`` or ``srt://host:port[?mode=listener|caller]``; a clear UsageError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise UsageError(f"{where}: {url!r} is not a live feed URL (expected {' or '.join(s + '://' for s in SCHEMES)}"
                         "host:port)")
    if parts.port is None:
        raise UsageError(f"{where}: {url!r} has no port")
    mode = dict(parse_qsl(parts.query)).get("mode", "caller")
    if parts.scheme == "srt" and mode not in ("listener", "caller", "rendezvous"):
        raise UsageError(f"{where}: {url!r}: SRT mode must be listener, caller or rendezvous, not {mode!r}")
    return url


class LiveFeed:
    """The reader thread and its queues. ``start()`` connects in the background; :meth:`wait_format` blocks until
    the first picture (the app's frame size and rate come from it) or fails clearly."""

    def __init__(self, settings: FeedSettings, *, layout: Layout, playout_frames: int) -> None:
        self.settings = settings
        self.url = settings.url
        self.counts = FeedCounts()
        self.frames: queue.Queue[FeedFrame] = queue.Queue(maxsize=settings.queue_frames)
        # (pts on the feed's unwrapped 90 kHz clock, packet): the packets go out as they came, never decoded
        self.audio: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=2_000)
        self.cues: queue.Queue[tuple[bytes, int | None]] = queue.Queue(maxsize=256)
        # frames alive at once: the queue, the playout buffer, and those in the graph
        self._ring = PlaneRing(layout, settings.queue_frames + playout_frames + RING, self.url)
        self._format: FeedFormat | None = None
        self.audio_format: AudioFormat | None = None
        self._audio_known = threading.Event()
        self._format_ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-feed", daemon=True)
        self._relay: subprocess.Popen[bytes] | None = None
        self._unwrap = PtsUnwrapper()
        self._unwrap_audio = PtsUnwrapper()
        self._audio_pts: float | None = None  # the latest audio packet's, unwrapped
        self._last_picture: Any = None
        self._lock = threading.Lock()

    def start(self) -> LiveFeed:
        self._thread.start()
        return self

    def wait_format(self) -> FeedFormat:
        """The feed's video format, waiting up to ``connect_timeout_s`` for its first picture."""
        if not self._format_ready.wait(self.settings.connect_timeout_s) or self._format is None:
            self.close()
            problem = self.counts.last_problem or "nothing arrived"
            raise MediaError(f"{self.url}: no video picture within {self.settings.connect_timeout_s:g} s "
                             f"(source.connect_timeout_s); last problem: {problem}")
        if self._format.has_audio and not self._audio_known.wait(AUDIO_WAIT_S):
            log.warning("%s: the audio could not be decoded within %g s; the outputs go without it", self.url,
                        AUDIO_WAIT_S)
        return self._format

    def last_picture(self) -> Any:
        """The newest decoded picture as PyAV holds it (never composited over), for holding it through a gap."""
        with self._lock:
            return self._last_picture

    def close(self) -> None:
        self._stop.set()
        self._stop_relay()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=self.settings.read_timeout_s + 5)

    # --- reader thread ------------------------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.settings.backoff_s[0]
        while not self._stop.is_set():
            try:
                container = self._open()
            except MediaError as exc:
                self._problem(str(exc))
            else:
                self.counts.connects += 1
                received = self._demux(container)
                container.close()
                if received:
                    delay = self.settings.backoff_s[0]
            self._stop_relay()
            if self._stop.wait(delay):
                break
            self.counts.reconnects += 1
            delay = min(delay * 2, self.settings.backoff_s[1])

    def _open(self) -> Any:
        import av  # noqa: PLC0415

        timeout = (self.settings.read_timeout_s + 1, self.settings.read_timeout_s)
        # A private data stream (SCTE-35 remuxed by ffmpeg 5 arrives as one) makes libavformat hold back every
        # stream's packets until it has probed `probesize` bytes: 5 MB by default, seconds of a live feed.
        options = {"probesize": str(PROBE_BYTES)}
        try:
            if self.url.startswith("srt://"):
                self._relay = _srt_relay(self.url, self.settings.read_timeout_s)
                # the raw pipe: a buffered read(n) would wait for n bytes, a whole second of a low-rate feed
                return av.open(self._relay.stdout.raw, format="mpegts", timeout=timeout, options=options)
            return av.open(_udp_url(self.url), format="mpegts", timeout=timeout,
                           options={**options, "overrun_nonfatal": "1", "fifo_size": "200000"})
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"cannot open the feed ({exc})") from exc

    def _demux(self, container: Any) -> bool:
        """Read until the feed stops or the reader is closed; True when any picture came through."""
        import av  # noqa: PLC0415

        if not container.streams.video:
            self._problem("the transport stream has no video stream")
            return False
        video = container.streams.video[0]
        video.thread_type = "SLICE"
        audio = container.streams.audio[0] if container.streams.audio else None
        data = list(container.streams.data)
        received = False
        self._audio_pts = None  # a new connection times its audio afresh
        try:
            for packet in container.demux(*(s for s in (video, audio, *data) if s is not None)):
                if self._stop.is_set():
                    break
                if packet.stream is video:
                    received |= self._decode(packet, video, audio is not None)
                elif packet.stream is audio:
                    self._put_audio(packet, audio)
                elif packet.size:
                    self._put_cue(packet)
        except (av.error.FFmpegError, OSError) as exc:
            self.counts.read_errors += 1
            self._problem(f"the feed stopped ({exc})")
        return received

    def _decode(self, packet: Any, stream: Any, has_audio: bool) -> bool:
        import av  # noqa: PLC0415

        try:
            pictures = packet.decode()
        except av.error.FFmpegError as exc:
            self.counts.decode_errors += 1
            self._problem(f"undecodable video packet ({exc})")
            return False
        for picture in pictures:
            if picture.pts is None:
                self.counts.packets_without_pts += 1
                continue
            if self._format is None:
                rate = stream.average_rate or stream.guessed_rate or stream.codec_context.framerate
                self._format = FeedFormat(picture.width, picture.height, float(rate) if rate else 0.0,
                                          Colour.of(stream.codec_context), has_audio)
                self._format_ready.set()
            arrival = now_ns()
            pts = self._unwrap(int(picture.pts * stream.time_base * PTS_HZ))
            frame = FeedFrame(pts, self._ring.put(picture), arrival)
            with self._lock:
                self._last_picture = picture
            self.counts.frames += 1
            self._offer(self.frames, frame)
        return bool(pictures)

    def _offer(self, target: queue.Queue[Any], item: Any) -> None:
        """Newest wins: a graph that stopped taking frames must not stall the network read."""
        while True:
            try:
                target.put_nowait(item)
                return
            except queue.Full:
                try:
                    target.get_nowait()
                    if target is self.frames:
                        self.counts.frames_overrun += 1
                except queue.Empty:
                    pass

    def _put_audio(self, packet: Any, stream: Any) -> None:
        import av  # noqa: PLC0415

        if self.audio_format is None:
            try:
                decoded = stream.codec_context.decode(packet)
            except av.error.FFmpegError:
                decoded = []
            if decoded:
                first = decoded[0]
                self.audio_format = AudioFormat(stream.codec_context.name, first.sample_rate, first.layout.name,
                                                first.samples)
                self._audio_known.set()
        if packet.pts is not None:
            self._audio_pts = self._unwrap_audio(int(packet.pts * packet.time_base * PTS_HZ))
        elif self._audio_pts is not None and self.audio_format is not None:
            # the demuxer times only a PES's first frame when a short probe left the stream's rate unknown
            self._audio_pts += self.audio_format.packet_ticks
        else:
            self.counts.packets_without_pts += 1
            return
        self.counts.audio_packets += 1
        self._offer(self.audio, (round(self._audio_pts), packet))

    def _put_cue(self, packet: Any) -> None:
        section = bytes(packet)
        if section[:1] != bytes([SCTE35_TABLE_ID]):
            return  # another private data stream: not a splice_info_section
        self.counts.cue_sections += 1
        pts = int(packet.pts * packet.stream.time_base * PTS_HZ) if packet.pts is not None else None
        self._offer(self.cues, (section, pts))

    def _problem(self, text: str) -> None:
        if text != self.counts.last_problem:  # before the first connection it is waiting for the broadcaster
            log.log(logging.WARNING if self.counts.connects else logging.INFO, "%s: %s", self.url, text)
        self.counts.last_problem = text

    def _stop_relay(self) -> None:
        relay, self._relay = self._relay, None
        if relay is not None and relay.poll() is None:
            relay.kill()
            relay.wait(timeout=5)


def _udp_url(url: str) -> str:
    """Ask FFmpeg for a large socket buffer unless the URL says otherwise: 1080p60 arrives in bursts."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("buffer_size", "8388608")
    return urlunsplit(parts._replace(query=urlencode(query)))


def _srt_relay(url: str, read_timeout_s: float, popen: Callable[..., Any] = subprocess.Popen) -> Any:
    """The system ffmpeg receiving SRT and copying the transport stream's bytes to its stdout. It gives up after
    ``read_timeout_s`` without data once connected (the reader then reconnects); a listener waits for its caller."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("rw_timeout", str(int(read_timeout_s * 1_000_000)))  # a listener waits for its caller
    source = urlunsplit(parts._replace(query=urlencode(query)))
    # The transport stream's bytes as they come, untouched: read and written as opaque data (no demux, so no
    # probing delay and no stream ffmpeg would drop or rewrite), flushed per packet (no output buffering).
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "data", "-i", source,
               "-map", "0", "-c", "copy", "-flush_packets", "1", "-f", "data", "pipe:1"]
    try:
        return popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    except OSError as exc:
        raise MediaError(f"{url}: cannot start ffmpeg to receive SRT ({exc}); install ffmpeg with libsrt") from exc

