"""The test broadcaster's material: an MPEG-TS clip (test pattern, tone) with SCTE-35 cues where a test wants them.

ffmpeg makes the clip (H.264 with an IDR every second, BT.709; AAC), threefive's injector (``scte35inject``)
adds the cues on PID 0x86, each just before the first IDR at or after its insert time. Cue times are relative to
the clip's first video frame, because ffmpeg's muxer starts PTS near 1.4 s rather than at 0.

    python -m mediagrid.broadcast.test_feed feed.ts --seconds 30 --size 1280x720 --fps 60 --break 10:5 --break 20:4

and then, as the broadcaster (``-re`` paces it in real time; the cues travel on as a private data stream, which
is silent between cues: without a small ``-max_interleave_delta`` ffmpeg holds the other streams back for it):

    ffmpeg -re -i feed.ts -map 0 -c copy -max_interleave_delta 200000 -f mpegts "udp://127.0.0.1:5000?pkt_size=1316"
    ffmpeg -re -i feed.ts -map 0 -c copy -max_interleave_delta 200000 -f mpegts "srt://127.0.0.1:6000?mode=caller"
"""
from __future__ import annotations

import argparse
import base64
import math
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from threefive.crc import crc32

from mediagrid.broadcast.scte35 import PTS_MODULUS, TICKS_PER_S, encode_splice_insert
from mediagrid.errors import MediaError, MediagridError, UsageError

TS_PACKET = 188
CUE_PID = 0x86  # where scte35inject puts the cues
NULL_PACKET = b"\x47\x1f\xff\x10" + b"\xff" * 184
_INJECTOR_CHUNK = 530  # scte35inject writes 530 packets at a time and drops the last, partial batch
_MAX_SECTION = TS_PACKET - 5  # scte35inject puts a section in one packet: header and pointer_field take 5


@dataclass(frozen=True)
class CueAt:
    """A section to inject ``insert_s`` seconds after the first video frame. ``section`` makes its bytes from
    that frame's PTS (90 kHz), so a cue can name a splice time relative to the clip."""

    insert_s: float
    section: Callable[[int], bytes]


@dataclass(frozen=True)
class InjectedCue:
    """A cue as it went into the clip: before the keyframe at ``insert_pts``."""

    insert_pts: int
    section: bytes


@dataclass(frozen=True)
class FeedInfo:
    """What a test needs to know about a clip from :func:`make_feed`."""

    path: Path
    first_pts: int  # PTS of the first video frame, 90 kHz
    duration_s: float
    fps: int
    cues: tuple[InjectedCue, ...]  # in the order they were given

    def pts_at(self, seconds: float) -> int:
        """The 33-bit PTS ``seconds`` after the first video frame."""
        return _pts_after(self.first_pts, seconds)


def break_at(event_id: int, at_s: float, duration_s: float | None = None, *, auto_return: bool = True,
             lead_s: float = 2.0) -> CueAt:
    """An out-of-network splice_insert for ``at_s``, sent ``lead_s`` ahead (as broadcasters do, so that the
    receiver can prepare); with ``duration_s`` and ``auto_return`` the break ends by itself."""
    return CueAt(max(at_s - lead_s, 0.0), lambda first: encode_splice_insert(
        event_id, splice_pts=_pts_after(first, at_s), duration_s=duration_s, auto_return=auto_return))


def return_at(event_id: int, at_s: float, *, lead_s: float = 2.0) -> CueAt:
    """The splice_insert that ends break ``event_id`` at ``at_s`` (back to the network)."""
    return CueAt(max(at_s - lead_s, 0.0), lambda first: encode_splice_insert(
        event_id, out=False, splice_pts=_pts_after(first, at_s)))


def corrupt_at(insert_s: float) -> CueAt:
    """A splice_insert whose splice_command_length runs past its end, under a good CRC: a receiver must drop it.
    (A bad CRC would not do: ffmpeg's demuxer drops such a section, so it never reaches a reader behind ffmpeg.)"""
    def corrupt(first: int) -> bytes:
        section = bytearray(encode_splice_insert(0xBAD, splice_pts=first))
        section[11:13] = bytes([section[11] & 0xF0, 0xFF])  # low nibble of tier kept; command length 255
        section[-4:] = crc32(bytes(section[:-4])).to_bytes(4, "big")
        return bytes(section)
    return CueAt(insert_s, corrupt)


def make_feed(path: Path, *, seconds: float, width: int, height: int, fps: int, cues: Sequence[CueAt] = (),
              audio: bool = True) -> FeedInfo:
    """Write the clip to ``path``: ffmpeg's testsrc2 and a 1 kHz tone, with ``cues`` injected. A cue lands on a
    keyframe (one a second), one cue per keyframe."""
    path = Path(path)
    frames = round(seconds * fps)
    if frames < 1 or width <= 0 or height <= 0 or width % 2 or height % 2:
        raise UsageError(f"test feed: need at least one frame and an even, positive size; got {seconds} s at "
                         f"{fps} fps, {width}x{height}")
    keyframes = _keyframes(cues, last=math.ceil(frames / fps) - 1)
    path = path.resolve()  # the injector runs in a scratch directory
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mediagrid-feed-") as scratch:
        clip = Path(scratch) / "clip.ts" if cues else path
        _encode_clip(clip, frames=frames, width=width, height=height, fps=fps, audio=audio)
        first_pts = _first_video_pts(clip)
        injected = tuple(InjectedCue(_pts_after(first_pts, k), cue.section(first_pts))
                         for cue, k in zip(cues, keyframes, strict=True))
        if injected:
            _inject(clip, path, injected, Path(scratch))
    return FeedInfo(path=path, first_pts=first_pts, duration_s=frames / fps, fps=fps, cues=injected)


def _pts_after(first_pts: int, seconds: float) -> int:
    return (first_pts + round(seconds * TICKS_PER_S)) % PTS_MODULUS


def _keyframes(cues: Sequence[CueAt], *, last: int) -> list[int]:
    """The keyframe (whole second of the clip) each cue goes in front of; the injector puts one cue per keyframe
    and none after the last, so a clash is refused here rather than found missing in the output."""
    chosen: list[int] = []
    for index, cue in enumerate(cues):
        keyframe = math.ceil(round(cue.insert_s, 6))
        if not 0 <= keyframe <= last:
            raise UsageError(f"test feed: cue {index} inserted at {cue.insert_s} s; the clip has keyframes at "
                             f"0..{last} s")
        if keyframe in chosen:
            raise UsageError(f"test feed: cue {index} lands on the keyframe at {keyframe} s like cue "
                             f"{chosen.index(keyframe)}; the injector takes one cue per keyframe")
        chosen.append(keyframe)
    return chosen


def _encode_clip(path: Path, *, frames: int, width: int, height: int, fps: int, audio: bool) -> None:
    """The sources stop by themselves: ``-frames:v`` or ``-shortest`` would also cut the audio short, by the
    video encoder's delay. The duration is rounded down to a microsecond, so testsrc2 makes exactly ``frames``."""
    duration = f"{frames * 1_000_000 // fps}us"
    tone = ["-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000:duration={duration}"] if audio else []
    audio_out = ["-map", "1:a", "-c:a", "aac", "-b:a", "128k", "-ac", "2"] if audio else []
    _run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
          "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={duration}", *tone,
          "-map", "0:v", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
          "-x264-params", f"keyint={fps}:min-keyint={fps}:scenecut=0",
          "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv",
          *audio_out, "-f", "mpegts", str(path)], what=f"{path}: encoding the test clip")


def _first_video_pts(path: Path) -> int:
    import av  # here: keeps `import mediagrid.broadcast.test_feed` light

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return round(stream.start_time * stream.time_base * TICKS_PER_S)


def _inject(clip: Path, out: Path, cues: Sequence[InjectedCue], scratch: Path) -> None:
    """Run scte35inject as a child (its constructor parses sys.argv and it prints as it goes). The clip gets a
    tail of null packets for the batch the injector drops, and the output loses what is left of them."""
    for index, cue in enumerate(cues):
        if len(cue.section) > _MAX_SECTION:
            raise UsageError(f"test feed: cue {index} is {len(cue.section)} bytes; the injector fits {_MAX_SECTION}")
    padded, sidecar = scratch / "padded.ts", scratch / "sidecar.txt"
    padded.write_bytes(clip.read_bytes() + NULL_PACKET * _INJECTOR_CHUNK)
    sidecar.write_text("".join(f"{cue.insert_pts / TICKS_PER_S:.6f},{base64.b64encode(cue.section).decode()}\n"
                               for cue in cues))
    _run([sys.executable, "-c", "from threefive.superkabuki import cli; cli()",
          "-i", str(padded), "-o", str(out), "-s", str(sidecar)], what=f"{out}: injecting SCTE-35 cues")
    packets = _packets(out.read_bytes())
    while packets and packets[-1] == NULL_PACKET:
        packets.pop()
    out.write_bytes(b"".join(packets))
    expected = len(clip.read_bytes()) // TS_PACKET + len(cues)
    injected = sum(1 for packet in packets if (packet[1] & 0x1F) << 8 | packet[2] == CUE_PID)
    if len(packets) != expected or injected != len(cues):
        raise MediaError(f"{out}: the injector wrote {len(packets)} packets with {injected} cue(s); expected "
                         f"{expected} with {len(cues)}")


def _packets(data: bytes) -> list[bytes]:
    return [data[offset:offset + TS_PACKET] for offset in range(0, len(data), TS_PACKET)]


def _run(command: list[str], *, what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MediaError(f"{what}: cannot run {command[0]} ({exc})") from exc
    if done.returncode != 0:
        raise MediaError(f"{what}: {Path(command[0]).name} exited with {done.returncode}: "
                         f"{done.stderr.strip()[-1500:]}")


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def _break(text: str) -> tuple[float, float]:
    at, _, duration = text.partition(":")
    return float(at), float(duration)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mediagrid.broadcast.test_feed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the clip (default 30)")
    parser.add_argument("--size", type=_size, default=(1280, 720), help="WIDTHxHEIGHT (default 1280x720)")
    parser.add_argument("--fps", type=int, default=60, help="frame rate (default 60)")
    parser.add_argument("--break", dest="breaks", type=_break, action="append", default=[], metavar="AT:SECONDS",
                        help="an ad break AT seconds into the clip, SECONDS long (returns by itself); repeatable")
    parser.add_argument("--no-audio", dest="audio", action="store_false", help="video and cues only")
    args = parser.parse_args(argv)
    cues = [break_at(event_id, at, duration) for event_id, (at, duration) in enumerate(args.breaks, start=1)]
    try:
        feed = make_feed(args.path, seconds=args.seconds, width=args.size[0], height=args.size[1], fps=args.fps,
                         cues=cues, audio=args.audio)
    except MediagridError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from exc
    print(f"{feed.path}: {feed.duration_s:g} s, first video PTS {feed.first_pts}")
    for event_id, ((at, duration), cue) in enumerate(zip(args.breaks, feed.cues, strict=True), start=1):
        print(f"  break scte35-{event_id}: PTS {feed.pts_at(at)} for {duration:g} s (cue sent at PTS {cue.insert_pts})")


if __name__ == "__main__":
    main()
