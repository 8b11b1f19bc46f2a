"""`mediagrid run` of the ad insertion app, its output checked with independent tools (ffprobe, ffmpeg).

One run on a generated 1.5 s 60 fps pitch clip with two breaks serves most checks: the creative is in each
break's slot exactly in its presentation-time window (compared with the compositor applied to ffmpeg's own
decode of the input, within codec loss), every other pixel and frame is the input's.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mediagrid.media.clips import make_clip
from mediagrid.ads.plan import AdPlanner, load_catalogue, load_schedule
from mediagrid.media.compositor import Canvas, blend
from mediagrid.media.yuv import Colour
from mediagrid.runtime import gpu_available, select_backend
from tests.conftest import REPO

W, H, FPS, FRAMES = 384, 216, 60, 90
CONFIG = "configs/ad_insertion.yaml"
CREATIVES = [
    {"id": "boots", "path": "assets/creatives/sportswear-boots.png"},
    {"id": "drink", "path": "assets/creatives/energy-drink.png",
     "variants": {"pitch": "assets/creatives/energy-drink-night.png"}},
]
SCHEDULE = """breaks:
  - {break_id: a, creative_id: boots, start_pts_s: 0.51, duration_s: 0.4, slot: {x: 0.05, y: 0.78, w: 0.9, h: 0.16}}
  - {break_id: b, creative_id: drink, start_pts_s: 1.01, duration_s: 0.3, slot: {x: 0.6, y: 0.05, w: 0.35, h: 0.3}}
"""
WINDOWS = {"a": range(31, 55), "b": range(61, 79)}  # frames i with start <= i / 60 < end


def _flow(value: object) -> str:
    return json.dumps(value)  # JSON is YAML flow syntax: --set takes it as is


def _run(cli, tmp: Path, clip: Path, schedule: str, *extra: str, out_video: Path | None = None):
    (tmp / "schedule.yaml").write_text(schedule)
    return cli("run", CONFIG, "--out", str(tmp / "run"), "--no-progress",
               "--set", "source.kind=file", "--set", f"source.path={clip}",
               "--set", f"sink.path={out_video or tmp / 'out.mp4'}",
               "--set", "ad_insertion.pacing=throughput", "--set", "deadlines.frame_ms=1000",
               "--set", "ad_insertion.stream_id=main", "--set", f"ad_insertion.schedule={tmp / 'schedule.yaml'}",
               "--set", f"ad_insertion.creatives={_flow(CREATIVES)}", *extra)


def _decode(path: Path) -> np.ndarray:
    """ffmpeg's own decode, as 4:2:0 frames laid out like mediagrid's (Y, then U, then V)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, H * 3 // 2, W)


def _colours(path: Path) -> dict[str, str]:
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=pix_fmt,color_space,color_range,color_primaries,color_transfer", "-of", "json",
                            str(path)], capture_output=True, text=True, check=True)
    return json.loads(probe.stdout)["streams"][0]


@pytest.fixture(scope="module")
def pitch_clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "pitch.mp4", seconds=FRAMES / FPS, width=W, height=H,
                     fps=FPS)


@pytest.fixture(scope="module")
def composited(pitch_clip, tmp_path_factory, cli):
    tmp = tmp_path_factory.mktemp("ads")
    done = _run(cli, tmp, pitch_clip, SCHEDULE)
    assert done.returncode == 0, done.stderr
    return tmp


def test_output_has_the_input_frame_count_size_and_rate(composited):
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_frames,width,height,r_frame_rate", "-of", "json",
                            str(composited / "out.mp4")], capture_output=True, text=True, check=True)
    stream = json.loads(probe.stdout)["streams"][0]
    assert (int(stream["nb_read_frames"]), stream["width"], stream["height"]) == (FRAMES, W, H)
    assert stream["r_frame_rate"] == f"{FPS}/1"


def test_output_declares_the_input_colours(composited, pitch_clip):
    source, output = _colours(pitch_clip), _colours(composited / "out.mp4")
    assert source == output
    assert (output["color_space"], output["color_range"], output["pix_fmt"]) == ("bt709", "tv", "yuv420p")


def test_creative_exactly_in_each_break_window_and_slot(composited, pitch_clip, tmp_path):
    source, output = _decode(pitch_clip), _decode(composited / "out.mp4")
    assert source.shape == output.shape == (FRAMES, H * 3 // 2, W)
    (tmp_path / "schedule.yaml").write_text(SCHEDULE)
    canvas = Canvas(Colour(), H, "i420", select_backend("cpu"))
    planner = AdPlanner(load_catalogue(CREATIVES), (W, H), canvas, stream_id="main", max_breaks=8)
    for decision in load_schedule(tmp_path / "schedule.yaml", "main"):
        planner.accept(decision)
    fills = {fill.decision.break_id: fill for fill in planner.plan().fills}
    # the pitch clip is classified "pitch" before break b starts: b shows the drink's pitch variant
    overlays = {"a": fills["a"].overlays["default"], "b": fills["b"].overlays["pitch"]}
    in_window = {i: name for name, frames in WINDOWS.items() for i in frames}
    for i in range(FRAMES):
        src, out = source[i, :H].astype(int), output[i, :H].astype(int)  # luma
        if i not in in_window:
            assert np.abs(out - src).mean() < 4, f"frame {i} should be untouched"
            continue
        overlay = overlays[in_window[i]]
        x, y, w, h = overlay.rect
        expected = source[i].copy()
        blend(expected, overlay)
        expected = expected[:H]
        inside = (slice(y, y + h), slice(x, x + w))
        error = np.abs(out[inside] - expected[inside].astype(int))
        # x264 loses most on the creative's text and sharp edges: about 7-8 levels on average, 2-3 typically
        assert error.mean() < 12 and np.median(error) < 6, f"frame {i}: creative differs"
        assert np.abs(out[inside] - src[inside]).mean() > 20, f"frame {i}: no creative in the slot"
        outside = np.ones((H, W), bool)
        outside[inside] = False
        assert np.abs(out[outside] - src[outside]).mean() < 4, f"frame {i}: pixels outside the slot changed"


def test_counts_and_snapshot_in_the_run_directory(composited):
    stats = json.loads((composited / "run" / "ad_insertion.json").read_text())
    assert stats["frames"]["by_creative"] == {"boots": len(WINDOWS["a"]), "drink": len(WINDOWS["b"])}
    assert stats["frames"]["composited"] == len(WINDOWS["a"]) + len(WINDOWS["b"])
    assert stats["frames"]["composited"] + stats["frames"]["clean"] == FRAMES
    assert stats["decisions"]["accepted"] == 2 and stats["context"]["last"] == "pitch"
    summary = json.loads((composited / "run" / "summary.json").read_text())
    assert summary["end_to_end"]["count"] == FRAMES and summary["stopped_by"] == "end_of_stream"
    assert {"source", "gate", "composite", "encode"} <= set(summary["stages"])
    snapshot = composited / "run" / "ad_insertion.png"
    assert snapshot.stat().st_size > 1000 and snapshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_frames_short_of_budget_pass_through_clean_and_count_degraded(cli, pitch_clip, tmp_path):
    """An estimate above the whole budget: the gate marks every frame, the compositor leaves it untouched."""
    schedule = ("breaks:\n  - {break_id: all, creative_id: boots, start_pts_s: 0, duration_s: 5,"
                " slot: {x: 0, y: 0, w: 1, h: 1}}\n")
    done = _run(cli, tmp_path, pitch_clip, schedule, "--frames", "20", "--set", "deadlines.frame_ms=16.7",
                "--set", "ad_insertion.composite_estimate_ms=50")
    assert done.returncode == 0, done.stderr
    frames = json.loads((tmp_path / "run" / "ad_insertion.json").read_text())["frames"]
    assert frames["degraded"] == 20 and frames["composited"] == 0
    e2e = json.loads((tmp_path / "run" / "summary.json").read_text())["end_to_end"]
    assert e2e["met"] == 0 and e2e["degraded"] + e2e["missed"] == 20
    output = _decode(tmp_path / "out.mp4")
    assert len(output) == 20 and np.abs(output.astype(int) - _decode(pitch_clip)[:20]).mean() < 4


def test_unknown_creative_is_counted_not_fatal(cli, pitch_clip, tmp_path):
    schedule = SCHEDULE + ("  - {break_id: c, creative_id: no-such-ad, start_pts_s: 0.1, duration_s: 0.2,"
                           " slot: {x: 0, y: 0, w: 0.5, h: 0.5}}\n")
    done = _run(cli, tmp_path, pitch_clip, schedule, "--frames", "20", "--set", 'sink.kind="null"')
    assert done.returncode == 0, done.stderr
    assert "no-such-ad" in done.stderr and "Traceback" not in done.stderr
    decisions = json.loads((tmp_path / "run" / "ad_insertion.json").read_text())["decisions"]
    assert decisions["unknown_creative"] == 1 and decisions["unknown_creative_ids"] == ["no-such-ad"]
    assert decisions["accepted"] == 2


def test_invalid_schedule_entry_is_a_located_config_error(cli, pitch_clip, tmp_path):
    schedule = ("breaks:\n  - {break_id: a, creative_id: boots, start_pts_s: 1, duration_s: 2,\n"
                "     slot: {x: 0.5, y: 0, w: 2, h: 0.1}}\n")
    done = _run(cli, tmp_path, pitch_clip, schedule)
    assert done.returncode == 2, done.stderr
    assert f"{tmp_path / 'schedule.yaml'}:2:" in done.stderr and "slot.w" in done.stderr
    assert "Traceback" not in done.stderr


def test_truncated_media_is_a_clean_error(cli, pitch_clip, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(pitch_clip.read_bytes()[:400])
    done = _run(cli, tmp_path, bad, SCHEDULE)
    assert done.returncode == 5, (done.returncode, done.stderr)
    assert str(bad) in done.stderr and "Traceback" not in done.stderr


def test_missing_creative_file_is_a_clean_error(cli, pitch_clip, tmp_path):
    done = _run(cli, tmp_path, pitch_clip, SCHEDULE, "--set",
                f"ad_insertion.creatives={_flow([{'id': 'boots', 'path': str(tmp_path / 'gone.png')}])}")
    # caught by the config checks before the run starts: a located config error (exit 2)
    assert done.returncode == 2 and "gone.png file not found" in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.startswith("--set:")


@pytest.mark.gpu
def test_gpu_run_composites_like_the_cpu(cli, pitch_clip, tmp_path, composited):
    if not gpu_available():
        pytest.skip("no usable CUDA device")
    done = _run(cli, tmp_path, pitch_clip, SCHEDULE, "--device", "gpu", "--set", "sink.preset=ultrafast")
    assert done.returncode == 0, done.stderr
    cpu = json.loads((composited / "run" / "ad_insertion.json").read_text())["frames"]
    gpu = json.loads((tmp_path / "run" / "ad_insertion.json").read_text())["frames"]
    assert gpu["by_creative"] == cpu["by_creative"]
    # the same planes composited on the device (NVDEC's nv12), encoded by the CPU's x264: within codec loss
    assert np.abs(_decode(tmp_path / "out.mp4").astype(int) - _decode(composited / "out.mp4")).mean() < 4


def test_ctrl_c_stops_cleanly_with_a_playable_file(tmp_path):
    """Two scheduler workers (the config's default): Ctrl-C still ends in a summary and a finished file."""
    out_video = tmp_path / "live.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "mediagrid.cli", "run", CONFIG, "--duration", "60",
                             "--out", str(tmp_path / "run"), "--no-progress", "--set", f"sink.path={out_video}"],
                            cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    events = tmp_path / "run" / "events.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (events.exists() and events.stat().st_size > 0):
        time.sleep(0.2)
    time.sleep(1.5)  # the first break starts at 1 s
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["stopped_by"] == "interrupt"
    e2e = summary["end_to_end"]
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_frames", "-of", "csv=p=0", str(out_video)],
                           capture_output=True, text=True, check=True)
    assert int(probe.stdout.strip()) == e2e["count"] - e2e["dropped"] > 0
