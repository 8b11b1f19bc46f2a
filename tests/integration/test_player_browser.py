"""The player page in headless Chromium, on a real HLS stream that ffmpeg writes and :func:`serve` serves.

The stream shows a solid magenta box in the picture's top-left quarter for three seconds, and its playlist marks
those seconds with an EXT-X-DATERANGE; the page's beacons must report that colour (and that ad break) only while
the box is on screen, so a page that shows a frozen, black or wrong picture fails.
"""
from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from mediagrid.broadcast.serve import serve
from tests.integration.player_harness import FLAGS, PlayerBrowser, plays_h264_through_mse, require_chromium

pytestmark = pytest.mark.integration

FFMPEG = "/usr/bin/ffmpeg"
DURATION_S = 9
BOX_S = (3.0, 6.0)          # when the box is on screen
EDGE_S = 0.3                # beacons this close to the box's first or last frame prove nothing either way
MAGENTA = (255, 0, 255)
TOLERANCE = 70              # per channel: H.264's 4:2:0 chroma and the YUV round trip move pure colours a little
TOP_LEFT = (0.0, 0.0, 0.5, 0.5)
BREAK_ID = "break-1"
PDT = re.compile(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)")


def add_ad_break(playlist: Path, segment: str) -> None:
    """Mark ``segment`` and the two after it as an ad break, the way a live packager marks a SCTE-35 avail."""
    text = playlist.read_text()
    start = PDT.findall(text.split(f"\n{segment}\n")[0])[-1]
    tag = f'#EXT-X-DATERANGE:ID="{BREAK_ID}",CLASS="com.mediagrid.ad",START-DATE="{start}",DURATION=3.0'
    playlist.write_text(text.replace(f"\n{segment}\n", f"\n{tag}\n{segment}\n", 1))


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nine one-second segments of H.264 + AAC with PROGRAM-DATE-TIME, the box from 3 s to 6 s."""
    out = tmp_path_factory.mktemp("hls")
    box = f"drawbox=x=0:y=0:w=iw/2:h=ih/2:color=0xFF00FF:t=fill:enable='between(t,{BOX_S[0]},{BOX_S[1]})'"
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(DURATION_S), "-vf", box,
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0",
                    "-hls_flags", "program_date_time", "-hls_segment_filename", str(out / "seg%03d.ts"),
                    str(out / "index.m3u8")], check=True, timeout=60)
    add_ad_break(out / "index.m3u8", "seg003.ts")
    return out


def is_magenta(beacon: dict[str, Any]) -> bool:
    frame = beacon["frame"]
    return all(abs(frame[c] - v) <= TOLERANCE for c, v in zip("rgb", MAGENTA, strict=True))


def summary(beacons: list[dict[str, Any]]) -> str:
    return "\n".join(f"t={b['t']:.2f} frame={b['frame']} ad_break={b['ad_break']} errors={b['errors']}"
                     for b in beacons)


def test_page_plays_the_stream_and_its_beacons_report_what_is_on_screen(stream: Path, tmp_path: Path) -> None:
    chromium = require_chromium()
    assert plays_h264_through_mse(chromium, tmp_path / "probe"), (
        f"{chromium} cannot play H.264 + AAC through Media Source Extensions (built without proprietary codecs?), "
        "so hls.js cannot play MPEG-TS HLS in it")
    with serve(stream) as server, PlayerBrowser(chromium, server, tmp_path, sample=TOP_LEFT) as browser:
        last = browser.wait_for(lambda b: b["t"] >= DURATION_S - 1.5, timeout_s=25)
        beacons = server.beacons
    assert last["t"] - beacons[0]["t"] >= 2, summary(beacons)
    assert [b for b in beacons if b["errors"]] == []

    first_pdt = datetime.fromisoformat(PDT.search((stream / "index.m3u8").read_text())[1]).timestamp() * 1000
    assert abs(last["playing_date_ms"] - last["t"] * 1000 - first_pdt) < 250, "playing date is not the stream's PDT"

    sampled = [b for b in beacons if b["frame"]]
    inside = [b for b in sampled if BOX_S[0] + EDGE_S <= b["t"] <= BOX_S[1] - EDGE_S]
    outside = [b for b in sampled if b["t"] <= BOX_S[0] - EDGE_S or b["t"] >= BOX_S[1] + EDGE_S]
    assert inside and outside, summary(beacons)
    assert all(is_magenta(b) and b["ad_break"] == BREAK_ID for b in inside), summary(inside)
    assert not any(is_magenta(b) or b["ad_break"] for b in outside), summary(outside)


def test_page_shows_every_status_counter_and_marks_a_frozen_status_stale(tmp_path: Path) -> None:
    """status.json's nested counters are shown whatever their names; its updated_ms never moves here, so once
    the page has polled for longer than its staleness limit it must say so."""
    chromium = require_chromium()
    status = {"app": "ad_insertion", "updated_ms": 1, "live": True,
              "outcomes": {"on_time": 41, "late": 2, "a_new_kind": 7}, "breaks": {"opened": 3}}
    (tmp_path / "hls").mkdir()
    (tmp_path / "hls" / "status.json").write_text(json.dumps(status))
    with serve(tmp_path / "hls") as server:
        result = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                                 "--virtual-time-budget=6000", "--dump-dom", server.url],
                                capture_output=True, text=True, timeout=60, check=False)
    dom = result.stdout
    assert '<span id="app">ad_insertion</span>' in dom, dom
    for group, counters in status.items():
        if isinstance(counters, dict):
            assert f"<h3>{group}</h3>" in dom, dom
            assert all(f"<dt>{key}</dt><dd>{value}</dd>" in dom for key, value in counters.items()), dom
    assert 'class="state stale"' in dom, dom
