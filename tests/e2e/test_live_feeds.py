"""Live feeds in, HLS out, with real tools as the broadcaster: `ffmpeg -re` pushes an MPEG-TS clip whose SCTE-35
cues were made with threefive, over UDP and over SRT on loopback, into `mediagrid run`; the HLS it writes is read
back with the m3u8 library and PyAV, independently of the code that wrote it.

A solid magenta creative makes "this frame carries the creative" a pixel test: the slot's chroma is magenta's
(U and V far above neutral) inside the avail and the test picture's outside it.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import av
import m3u8
import numpy as np
import pytest
from PIL import Image

from mediagrid.broadcast.scte35 import encode_splice_insert
from mediagrid.broadcast.test_feed import CueAt, FeedInfo, break_at, corrupt_at, make_feed
from tests.conftest import REPO
from tests.e2e.live_harness import Run, broadcast, free_udp_port, read_segments, udp_bound

pytestmark = [pytest.mark.slow]

W, H, FPS = 320, 180, 30
FRAME = timedelta(seconds=1 / FPS)
SLOT = {"x": 0.0, "y": 0.0, "w": 0.5, "h": 0.5}  # the top-left quarter


def _config(tmp: Path, url: str, *, app: str = "ad_insertion", source: dict | None = None) -> Path:
    Image.new("RGBA", (64, 36), (255, 0, 255, 255)).save(tmp / "magenta.png")
    config = {
        "app": app, "node": {"id": "edge-live", "site": "local", "jurisdiction": "EU"}, "device": "cpu",
        "deadlines": {"frame_ms": 200, "policy": "degrade" if app == "ad_insertion" else "drop"},
        "source": {"kind": "live", "url": url, "jitter_ms": 150, "gap_ms": 400, "connect_timeout_s": 15,
                   **(source or {})},
        "sink": {"kind": "hls", "dir": str(tmp / "hls"), "segment_s": 1, "window": 30},
    }
    if app == "ad_insertion":
        config["ad_insertion"] = {
            "stream_id": "live", "creatives": [{"id": "magenta", "path": str(tmp / "magenta.png")}],
            "avails": {"fallback": {"creative_id": "magenta", "slot": SLOT}},
            "context": {"every_s": 0, "thumb_width": 64}, "snapshot": False}
    else:
        config["passthrough"] = {"process_estimate_ms": 1.0, "region": {"x": 0, "y": 0, "w": 16, "h": 16}}
    path = tmp / "live.json"  # JSON is YAML
    path.write_text(json.dumps(config))
    return path


def _live_run(tmp: Path, feed: FeedInfo, *, scheme: str = "udp", app: str = "ad_insertion",
              duration_s: float = 6.0, source: dict | None = None) -> Run:
    port = free_udp_port()
    if scheme == "udp":
        listen, push = f"udp://127.0.0.1:{port}", f"udp://127.0.0.1:{port}?pkt_size=1316"
    else:
        listen, push = f"srt://127.0.0.1:{port}?mode=listener", f"srt://127.0.0.1:{port}?mode=caller"
    run = Run(tmp, _config(tmp, listen, app=app, source=source), duration_s)
    run.wait_listening(port)
    broadcaster = broadcast(feed.path, push)
    code = run.finish()
    broadcaster.kill()
    broadcaster.wait()
    assert code == 0, run.output
    return run


def _has_creative(picture: np.ndarray) -> bool:
    """Magenta in the top-left quarter: U and V (BT.709 limited: ~202, ~222) far above the neutral 128."""
    u = picture[H: H + H // 4].reshape(H // 2, W // 2)[: H // 4, : W // 4]
    v = picture[H + H // 4:].reshape(H // 2, W // 2)[: H // 4, : W // 4]
    return float(u[2:-2, 2:-2].mean()) > 180 and float(v[2:-2, 2:-2].mean()) > 190


@pytest.fixture(scope="module")
def udp_run(tmp_path_factory) -> tuple[Run, FeedInfo]:
    tmp = tmp_path_factory.mktemp("live-udp")
    feed = make_feed(tmp / "feed.ts", seconds=8, width=W, height=H, fps=FPS,
                     cues=[corrupt_at(0.0), break_at(7, 3.0, 2.0)])
    return _live_run(tmp, feed, duration_s=6.5), feed


def test_udp_feed_becomes_hls_with_the_break_on_the_exact_frames(udp_run) -> None:
    run, _ = udp_run
    playlist = run.playlist
    assert playlist.is_endlist and playlist.target_duration == 1
    segments = read_segments(run)
    assert len(segments) >= 6
    # the break: DATERANGE with the cue, CUE-OUT on the segment that starts with the splice frame, CUE-IN 2 s later
    (daterange,) = [d for d in _dateranges(playlist) if d.id == "scte35-7"]
    assert daterange.scte35_out.upper().startswith("0XFC") and daterange.planned_duration == 2.0
    start = daterange.start_date
    out_seg = next(s for s, *_ in segments if s.cue_out_start)
    in_seg = next(s for s, *_ in segments if s.cue_in)
    assert abs(out_seg.current_program_date_time - _parse(start)) <= FRAME
    assert abs(in_seg.current_program_date_time - _parse(start) - timedelta(seconds=2)) <= FRAME
    # pixels: every frame inside the avail carries the creative, every frame outside does not
    inside = outside = 0
    in_avail = False
    for segment, pictures, _, _ in segments:
        if segment.cue_out_start:
            in_avail = True
        if segment.cue_in:
            in_avail = False
        for picture in pictures:
            assert _has_creative(picture) == in_avail, f"{segment.uri}: creative {'missing' if in_avail else 'shown'}"
            inside += in_avail
            outside += not in_avail
    assert inside == 2 * FPS and outside > 2 * FPS


def test_hls_segments_are_continuous_and_carry_the_program_audio(udp_run) -> None:
    run, _ = udp_run
    segments = read_segments(run)
    step = 90_000 // FPS
    aac_packet = 1024 * 90_000 // 48_000  # ticks of one AAC frame of the test feed's 48 kHz tone
    for (segment, pictures, pts, audio), (_, _, next_pts, _) in zip(segments, segments[1:]):
        assert pts == list(range(pts[0], pts[0] + step * len(pictures), step))  # no hole inside a segment
        assert next_pts[0] == pts[-1] + step  # and none between segments
        # the audio of the same instant, all of it: as many packets as the segment lasts, starting with its video
        assert abs(len(audio) - segment.duration * 90_000 / aac_packet) <= 1.5, (segment.uri, len(audio))
        assert pts[0] <= audio[0] < pts[0] + aac_packet and audio[-1] < next_pts[0], segment.uri
    for segment, *_ in segments:  # and ffprobe, another reader, finds both streams without a complaint
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                                str(run.tmp / "hls" / segment.uri)], capture_output=True, text=True, timeout=30)
        assert (probe.returncode, probe.stderr, set(probe.stdout.split())) == (0, "", {"h264", "aac"}), segment.uri
    pdts = [s.current_program_date_time for s, *_ in segments]
    millisecond = timedelta(milliseconds=1)  # both are written to the millisecond
    assert all(abs(b - a - timedelta(seconds=s.duration)) <= millisecond
               for a, b, (s, *_) in zip(pdts, pdts[1:], segments))


def test_the_summary_counts_cues_and_reports_glass_to_glass_latency(udp_run) -> None:
    run, _ = udp_run
    summary = run.summary
    cues = summary["live"]["cues"]
    assert cues["opened"] == 1 and cues["corrupt"] == 1
    assert summary["live"]["feed"]["audio_packets"] > 0
    latency = summary["hls"]["glass_to_glass"]
    assert 0 < latency["p50_ms"] <= latency["p99_ms"]
    ads = summary["ads"]
    assert ads["avails"]["fallback"] == 1 and ads["avails"]["frames"] == 2 * FPS
    status = json.loads((run.tmp / "hls" / "status.json").read_text())
    assert status["live"] is False and status["outcomes"]["met"] > 0


def test_srt_feed_is_received_through_the_relay(tmp_path) -> None:
    feed = make_feed(tmp_path / "feed.ts", seconds=6, width=W, height=H, fps=FPS, cues=[break_at(3, 3.0, 1.0)])
    run = _live_run(tmp_path, feed, scheme="srt", duration_s=4.0)
    assert run.summary["live"]["cues"]["opened"] == 1
    frames = sum(len(p) for _, p, _, _ in read_segments(run))
    assert frames >= 3 * FPS
    assert any(s.cue_out_start for s in run.playlist.segments)


def test_bad_cues_get_counted_outcomes_not_a_crash(tmp_path) -> None:
    """A cancelled cue, a cue that arrives after its splice time, and a break whose return never comes."""
    def cancel(event: int) -> CueAt:
        return CueAt(3.0, lambda first: encode_splice_insert(event, cancel=True))

    def late(event: int) -> CueAt:  # sent at 4 s for a splice at 3.5 s that lasts 2 s
        return CueAt(4.0, lambda first: encode_splice_insert(event, splice_pts=first + int(3.5 * 90_000),
                                                             duration_s=2.0))
    feed = make_feed(tmp_path / "feed.ts", seconds=8, width=W, height=H, fps=FPS, cues=[
        break_at(2, 7.5, 0.4, lead_s=5.5), cancel(2), late(3), break_at(4, 6.0, None, auto_return=False, lead_s=1.0)])
    run = _live_run(tmp_path, feed, duration_s=7.0, source={"max_break_s": 0.5})
    cues = run.summary["live"]["cues"]
    assert (cues["cancelled"], cues["late"], cues["no_return"]) == (1, 1, 1), cues
    playlist = run.playlist
    assert {d.id for d in _dateranges(playlist)} == {"scte35-3", "scte35-4"}  # the cancelled break never aired


def test_a_feed_cut_for_3_s_is_bridged_and_counted(tmp_path) -> None:
    """The broadcaster stops at 3 s and comes back 3 s later (its clock ran on): the output never stops, the gap
    is filled with held frames counted degraded, and the feed's pictures after it still arrive."""
    feed = make_feed(tmp_path / "feed.ts", seconds=9, width=W, height=H, fps=FPS)
    port = free_udp_port()
    run = Run(tmp_path, _config(tmp_path, f"udp://127.0.0.1:{port}", app="passthrough"), 8.0)
    run.wait_listening(port)
    push = f"udp://127.0.0.1:{port}?pkt_size=1316"
    first = broadcast(feed.path, push, "-t", "3")
    first.wait(timeout=30)
    time.sleep(3)
    second = broadcast(feed.path, push, "-ss", "6", "-copyts")
    code = run.finish()
    second.kill()
    second.wait()
    assert code == 0, run.output
    summary = run.summary
    playout = summary["live"]["playout"]
    assert playout["gaps"] == 1 and playout["stand_ins"] >= 2 * FPS
    assert summary["end_to_end"]["degraded"] == playout["stand_ins"]
    segments = read_segments(run)
    step = 90_000 // FPS
    pts = [t for _, _, ts, _ in segments for t in ts]
    # the output runs on through the cut: a hole only for a frame counted dropped (the picture just before a cut
    # can leave the demuxer late: a video PES ends only when the next one begins)
    holes = sum((b - a) // step - 1 for a, b in zip(pts, pts[1:]))
    assert all(b > a for a, b in zip(pts, pts[1:])) and holes == summary["end_to_end"]["dropped"] <= 2
    assert len(pts) >= 7 * FPS


def test_garbage_on_the_port_and_no_feed_end_in_a_clear_error(tmp_path) -> None:
    port = free_udp_port()
    run = Run(tmp_path, _config(tmp_path, f"udp://127.0.0.1:{port}", app="passthrough",
                                source={"connect_timeout_s": 4}), 5.0)
    run.wait_listening(port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(200):
            sock.sendto(os.urandom(1316), ("127.0.0.1", port))
            time.sleep(0.005)
    code = run.finish()
    assert code == 5, run.output
    assert f"udp://127.0.0.1:{port}: no video picture within 4 s" in run.output


def test_a_transport_stream_without_video_is_a_clear_error(tmp_path) -> None:
    audio_only = tmp_path / "audio.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=6", "-c:a", "aac",
                    "-f", "mpegts", str(audio_only)], check=True)
    port = free_udp_port()
    run = Run(tmp_path, _config(tmp_path, f"udp://127.0.0.1:{port}", app="passthrough",
                                source={"connect_timeout_s": 4}), 5.0)
    run.wait_listening(port)
    broadcaster = broadcast(audio_only, f"udp://127.0.0.1:{port}?pkt_size=1316")
    code = run.finish()
    broadcaster.kill()
    broadcaster.wait()
    assert code == 5, run.output
    assert "no video stream" in run.output


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _dateranges(playlist: m3u8.M3U8) -> list:
    return [d for segment in playlist.segments for d in segment.dateranges]


def test_the_player_page_plays_the_live_output_and_shows_the_creative_in_the_break(tmp_path) -> None:
    """Headless Chromium plays the HLS while the app writes it: playback advances, and a frame it shows during the
    break carries the creative (the page samples the slot's colour into its beacons)."""
    from mediagrid.broadcast.serve import serve  # noqa: PLC0415
    from tests.integration.player_harness import PlayerBrowser, require_chromium  # noqa: PLC0415

    chromium = require_chromium()
    feed = make_feed(tmp_path / "feed.ts", seconds=16, width=W, height=H, fps=FPS, cues=[break_at(9, 8.0, 5.0)])
    port = free_udp_port()
    config = _config(tmp_path, f"udp://127.0.0.1:{port}")
    run = Run(tmp_path, config, 15.0)
    run.wait_listening(port)
    broadcaster = broadcast(feed.path, f"udp://127.0.0.1:{port}?pkt_size=1316")
    playlist = tmp_path / "hls" / "index.m3u8"
    try:
        deadline = time.monotonic() + 30
        while not (playlist.exists() and len(m3u8.load(str(playlist)).segments) >= 3):
            assert time.monotonic() < deadline and run.proc.poll() is None, "no live playlist appeared"
            time.sleep(0.2)
        sample = (SLOT["x"] + 0.05, SLOT["y"] + 0.05, SLOT["w"] - 0.1, SLOT["h"] - 0.1)
        with serve(tmp_path / "hls") as server, PlayerBrowser(chromium, server, tmp_path, sample=sample) as browser:
            first = browser.wait_for(lambda b: b["t"] > 0, timeout_s=20)
            in_break = browser.wait_for(lambda b: b["ad_break"] == "scte35-9" and b["frame"], timeout_s=25)
            later = browser.wait_for(lambda b: b["t"] >= in_break["t"] + 1 and b["ad_break"] == "scte35-9",
                                     timeout_s=10)
    finally:
        broadcaster.kill()
        broadcaster.wait()
        code = run.finish()
    assert code == 0, run.output
    assert later["t"] > first["t"] and not later["errors"]
    # a second into the break (well away from its edges) the slot shows magenta: the creative, not the picture
    red, green, blue = (later["frame"][c] for c in "rgb")
    assert red > 200 and blue > 200 and green < 60, later


@pytest.mark.parametrize("scheme", ["udp", "srt"])
def test_mpeg_ts_out_carries_the_program_and_the_cue_re_stamped_for_its_clock(tmp_path, scheme) -> None:
    """sink.kind live: the composited program pushed on as MPEG-TS (captured byte for byte by ffmpeg as the
    receiver); the passed-on cue's splice time, on the output's clock, is the first frame carrying the creative."""
    from mediagrid.broadcast.scte35 import parse_section  # noqa: PLC0415

    feed = make_feed(tmp_path / "feed.ts", seconds=6, width=W, height=H, fps=FPS, cues=[break_at(5, 3.0, 1.0)])
    out_port, capture = free_udp_port(), tmp_path / "received.ts"
    if scheme == "udp":
        receive, send = f"udp://127.0.0.1:{out_port}?timeout=3000000", f"udp://127.0.0.1:{out_port}"
    else:  # the receiver ends 3 s after the stream does
        receive = f"srt://127.0.0.1:{out_port}?mode=listener&rw_timeout=3000000"
        send = f"srt://127.0.0.1:{out_port}?mode=caller"
    receiver = subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "data", "-i", receive,
                                 "-map", "0", "-c", "copy", "-f", "data", str(capture)], stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not udp_bound(out_port):
        assert time.monotonic() < deadline, "the receiver never bound its port"
        time.sleep(0.05)
    config = _config(tmp_path, "udp://127.0.0.1:1")  # the source URL is set below, with its own port
    data = json.loads(config.read_text())
    in_port = free_udp_port()
    data["source"]["url"] = f"udp://127.0.0.1:{in_port}"
    data["sink"] = {"kind": "live", "url": send}
    config.write_text(json.dumps(data))
    run = Run(tmp_path, config, 4.5)
    run.wait_listening(in_port)
    broadcaster = broadcast(feed.path, f"udp://127.0.0.1:{in_port}?pkt_size=1316")
    code = run.finish()
    broadcaster.kill()
    broadcaster.wait()
    try:
        receiver.wait(timeout=20)
    finally:
        receiver.kill()
    assert code == 0, run.output
    assert run.summary["ts_out"]["cues_passed"] == 1
    with av.open(str(capture)) as container:
        assert container.streams.audio, "the program audio was not passed on"
        sections = [bytes(p) for p in container.demux(container.streams.data[0]) if p.size]
    with av.open(str(capture)) as container:
        pictures = [(f.pts, f.to_ndarray(format="yuv420p")) for f in container.decode(video=0)]
    (cue,) = [parse_section(s) for s in sections]
    first_creative = next(pts for pts, picture in pictures if _has_creative(picture))
    assert cue.event_id == 5 and abs(cue.splice_pts - first_creative) <= 90_000 // FPS
    assert len(pictures) >= 3 * FPS


@pytest.mark.parametrize("override", ['source={kind: live, url: "udp://127.0.0.1:5999"}',
                                      'sink={kind: live, url: "udp://127.0.0.1:5998"}'])
def test_live_translation_refuses_live_io_clearly(tmp_path, override) -> None:
    """Live feeds in and MPEG-TS out are the video apps' for now: live_translation says so instead of going quiet."""
    result = subprocess.run(
        [sys.executable, "-m", "mediagrid.cli", "run", str(REPO / "configs" / "live_translation.yaml"), "--out",
         str(tmp_path / "run"), "--no-progress", "--set", override], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env={**os.environ, "HOLOSCAN_LOG_LEVEL": "ERROR"})
    assert result.returncode == 2, result.stderr
    assert "not supported by live_translation yet" in result.stderr
