"""Ad insertion pieces without a graph: compositor arithmetic, plans, schedules, catalogue, scene labels, codecs."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from mediagrid.config import ConfigError
from mediagrid.errors import MediaError, UsageError
from mediagrid.media.clips import CREATIVES, creative_image, make_clip, pitch_frame, write_rgba_png
from mediagrid.ads.plan import (
    DEFAULT_VARIANT, AdDecision, AdPlanner, Creative, Slot, DecisionVerdict, load_catalogue, load_schedule,
)
from mediagrid.media.codecs import PyAVReader, open_writer, probe
from mediagrid.media.compositor import Canvas, blend, fit_rect, prepare
from mediagrid.media.yuv import Colour, from_rgb, i420_to_nv12, planes, to_rgb
from mediagrid.ads.scene import SceneClassifier
from mediagrid.runtime import gpu_available, select_backend

CPU = select_backend("cpu")


def _rgba(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)


LOWER_THIRD = Slot(0.1, 0.7, 0.8, 0.2)


def _decision(break_id: str = "b1", creative: str = "ad", start: float = 1.0, duration: float = 2.0,
              stream: str = "main") -> AdDecision:
    return AdDecision(stream, break_id, creative, LOWER_THIRD, start, duration)


# -- compositor ----------------------------------------------------------------------------------------------
def _canvas(height: int, backend=CPU, layout: str = "i420") -> Canvas:
    return Canvas(Colour(), height, layout, backend)


def _frame(rgb: np.ndarray) -> np.ndarray:
    return from_rgb(rgb, Colour())


def test_blend_is_within_one_level_of_the_exact_alpha_blend_and_exact_at_both_ends():
    alpha = np.arange(256, dtype=np.uint8)
    worst = 0.0
    for colour in range(0, 256, 15):
        creative = np.zeros((2, 256, 4), np.uint8)
        creative[..., :3], creative[..., 3] = colour, alpha
        overlay = prepare(creative, (0, 0, 256, 2), _canvas(2))
        fg = 16 + 219 * colour / 255
        for background in range(0, 256, 17):
            frame = _frame(np.full((2, 256, 3), background, np.uint8))
            bg = float(planes(frame, "i420")[0][0, 0])
            blend(frame, overlay)
            a = alpha.astype(float)
            exact = (bg * (255 - a) + fg * a) / 255
            luma = planes(frame, "i420")[0][0]
            worst = max(worst, float(np.abs(luma - exact).max()))
            assert luma[0] == bg and luma[255] == round(fg)  # a = 0 and a = 255
    assert worst < 1.0


def test_blend_is_deterministic_and_touches_only_its_rectangle():
    frame = _frame(np.random.default_rng(1).integers(0, 256, (90, 160, 3), dtype=np.uint8))
    overlay = prepare(_rgba(20, 40), (10, 50, 120, 30), _canvas(90))
    x, y, w, h = overlay.rect
    first, second = frame.copy(), frame.copy()
    blend(first, overlay)
    blend(second, overlay)
    assert np.array_equal(first, second)
    luma, before = planes(first, "i420")[0], planes(frame, "i420")[0]
    outside = np.ones(luma.shape, bool)
    outside[y:y + h, x:x + w] = False
    assert np.array_equal(luma[outside], before[outside])
    assert not np.array_equal(luma[y:y + h, x:x + w], before[y:y + h, x:x + w])


def test_extreme_values_do_not_overflow():
    creative = np.zeros((8, 8, 4), np.uint8)
    creative[..., :3], creative[..., 3] = 255, np.arange(64, dtype=np.uint8).reshape(8, 8) * 4 + 3
    overlay = prepare(creative, (0, 0, 4, 4), _canvas(4))  # scaled: area averaging must keep P <= 255 * A
    white = _frame(np.full((4, 4, 3), 255, np.uint8))
    frame = white.copy()
    blend(frame, overlay)
    assert np.abs(frame.astype(int) - white).max() <= 1


def test_fit_keeps_the_aspect_ratio_centred_in_the_slot():
    assert fit_rect((100, 50, 400, 100), 800, 100) == (100, 75, 400, 50)
    assert fit_rect((0, 0, 300, 300), 100, 200) == (75, 0, 150, 300)
    assert prepare(_rgba(100, 800), (100, 50, 400, 100), _canvas(1080)).rect == (100, 75, 400, 50)


@pytest.mark.gpu
def test_cupy_and_numpy_give_the_same_bytes():
    if not gpu_available():
        pytest.skip("no usable CUDA device")
    gpu = select_backend("gpu")
    for layout in ("i420", "nv12"):
        frame = from_rgb(np.random.default_rng(2).integers(0, 256, (216, 384, 3), dtype=np.uint8), Colour(), layout)
        on_cpu, on_gpu = frame.copy(), gpu.asarray(frame)
        blend(on_cpu, prepare(_rgba(60, 200), (21, 151, 300, 50), _canvas(216, CPU, layout)))
        blend(on_gpu, prepare(_rgba(60, 200), (21, 151, 300, 50), _canvas(216, gpu, layout)))
        assert np.array_equal(on_cpu, gpu.to_host(on_gpu))


# -- plans ---------------------------------------------------------------------------------------------------
def test_slot_pixels_round_and_stay_inside_the_frame():
    assert Slot(0.05, 0.8, 0.9, 0.12).pixels(1920, 1080) == (96, 864, 1728, 130)
    assert Slot(0.9, 0.9, 0.1, 0.1).pixels(101, 51) == (91, 46, 10, 5)


def _planner(**catalogue: Creative) -> AdPlanner:
    images = catalogue or {"ad": Creative("ad", {DEFAULT_VARIANT: _rgba(10, 40)})}
    return AdPlanner(images, (320, 180), _canvas(180), stream_id="main", max_breaks=3)


def test_plan_windows_start_inclusive_end_exclusive_and_overlaps_in_start_order():
    planner = _planner()
    planner.accept(_decision("long", start=0.0, duration=100.0))
    planner.accept(_decision("short", start=5.0, duration=1.0))
    plan = planner.plan()
    assert [f.decision.break_id for f in plan.active(5.0)] == ["long", "short"]
    assert [f.decision.break_id for f in plan.active(6.0)] == ["long"]
    assert plan.active(100.0) == () and plan.active(-1.0) == ()


def test_planner_counts_unknown_creatives_and_other_streams_and_stays_bounded():
    planner = _planner()
    assert planner.accept(_decision(creative="nope")) is DecisionVerdict.UNKNOWN_CREATIVE
    assert planner.accept(_decision(stream="other")) is DecisionVerdict.OTHER_STREAM
    assert planner.plan().fills == ()
    for n in range(5):
        assert planner.accept(_decision(f"b{n}", start=float(n))) is DecisionVerdict.ACCEPTED
    planner.accept(_decision("b4", start=9.0))  # an update of a planned break replaces it
    counts = planner.counts
    assert (counts.unknown_creative, counts.other_stream, counts.accepted, counts.replaced, counts.pruned) == (
        1, 1, 6, 1, 2)
    assert counts.unknown_creative_ids == ["nope"]
    assert [f.decision.break_id for f in planner.plan().fills] == ["b2", "b3", "b4"]
    assert len(planner._overlays) == 1  # one creative in one slot: one prepared overlay shared


def test_variant_follows_the_scene_label_with_the_default_as_fallback():
    planner = _planner(ad=Creative("ad", {DEFAULT_VARIANT: _rgba(10, 40), "dark": _rgba(10, 40, seed=3)}))
    planner.accept(_decision())
    fill = planner.plan().fills[0]
    assert fill.variant_for("dark") == "dark"
    assert fill.variant_for("pitch") == DEFAULT_VARIANT and fill.variant_for(None) == DEFAULT_VARIANT


def test_schedule_file_is_checked_against_the_topic_schema(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("breaks:\n  - {break_id: b1, creative_id: ad, start_pts_s: 1.5, duration_s: 2,\n"
                    "     slot: {x: 0.1, y: 0.7, w: 0.8, h: 0.2}}\n")
    assert load_schedule(good, "main") == [_decision(start=1.5)]
    bad = tmp_path / "bad.yaml"
    bad.write_text("breaks:\n  - {break_id: b1, creative_id: ad, start_pts_s: 1, duration_s: 2}\n"
                   "  - {break_id: b2, creative_id: ad, start_pts_s: -1, duration_s: 2,\n"
                   "     slot: {x: 0.1, y: 0.7, w: 0.8, h: 0.2}}\n")
    with pytest.raises(ConfigError) as raised:
        load_schedule(bad, "main")
    lines = [str(issue) for issue in raised.value.issues]
    assert len(lines) == 2 and lines[0].startswith(f"{bad}:2:") and "slot" in lines[0]
    assert lines[1].startswith(f"{bad}:3:") and "start_pts_s" in lines[1]
    (tmp_path / "none.yaml").write_text("other: 1\n")
    with pytest.raises(ConfigError, match="breaks"):
        load_schedule(tmp_path / "none.yaml", "main")


def test_catalogue_loads_pngs_and_names_a_bad_file(tmp_path):
    opaque = write_rgba_png(tmp_path / "a.png", creative_image(CREATIVES[0]))
    catalogue = load_catalogue([{"id": "a", "path": str(opaque), "variants": {"dark": str(opaque)}}])
    image = catalogue["a"].images[DEFAULT_VARIANT]
    assert image.shape == (CREATIVES[0].height, CREATIVES[0].width, 4) and set(catalogue["a"].images) == {
        "default", "dark"}
    assert image[0, 0, 3] == 0 and image[image.shape[0] // 2, 20, 3] == 200  # margin clear, panel translucent
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(MediaError, match="junk.png"):
        load_catalogue([{"id": "b", "path": str(tmp_path / "junk.png")}])
    with pytest.raises(MediaError, match="missing.png.*file not found"):
        load_catalogue([{"id": "c", "path": str(tmp_path / "missing.png")}])


# -- scene context -------------------------------------------------------------------------------------------
def test_scene_labels_for_pitch_dark_and_bright_pictures():
    classifier = SceneClassifier()
    pitch = pitch_frame(10, 64, 36, 60)
    assert classifier.classify(pitch).label == "pitch"
    assert classifier.classify(np.full((36, 64, 3), 18, np.uint8)).label == "dark"
    assert classifier.classify(np.full((36, 64, 3), 230, np.uint8)).label == "bright"
    assert classifier.classify(pitch, 2.0) == classifier.classify(pitch.copy(), 2.0)


# -- codecs --------------------------------------------------------------------------------------------------
def test_clip_round_trip_through_writer_and_reader(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", seconds=0.25, width=96, height=64, fps=60, preset="ultrafast")
    info = probe(clip)
    assert (info.width, info.height, info.fps, info.frames) == (96, 64, 60.0, 15)
    reader = PyAVReader(clip, CPU)
    frames = [reader.read().copy() for _ in range(15)]  # the reader reuses a ring of buffers
    assert reader.read() is None
    assert info.colour == reader.colour == Colour()  # written as BT.709 limited range, read back so
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                         capture_output=True, check=True).stdout
    ffmpeg = np.frombuffer(raw, np.uint8).reshape(15, 96, 96)
    assert np.array_equal(np.array(frames), ffmpeg)  # the decoder's planes, not a conversion of them
    rgb = to_rgb(frames[7], reader.colour, "i420")
    assert np.abs(rgb.astype(int) - pitch_frame(7, 96, 64, 60)).mean() < 10  # and the picture is the clip's
    reader.rewind()
    assert np.array_equal(reader.read(), frames[0])
    assert reader.skip() and reader.skip()  # frames 1 and 2: decoded, not converted
    assert np.array_equal(reader.read(), frames[3])
    reader.close()


def test_reader_interleaves_chroma_for_nv12_frames(tmp_path):
    """The layout a GPU backend gets when NVDEC is missing: the same picture as i420, U and V interleaved."""
    clip = make_clip(tmp_path / "c.mp4", seconds=0.1, width=96, height=64, fps=60, preset="ultrafast")
    i420, nv12 = PyAVReader(clip, CPU), PyAVReader(clip, CPU, layout="nv12")
    for _ in range(3):
        assert np.array_equal(i420_to_nv12(i420.read()), nv12.read())


def test_bad_media_and_wrong_encoder_choice_are_clear_errors(tmp_path):
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 200)
    with pytest.raises(MediaError, match="bad.mp4"):
        probe(tmp_path / "bad.mp4")
    with pytest.raises(MediaError, match="bad.mp4"):
        PyAVReader(tmp_path / "bad.mp4", CPU)
    with pytest.raises(UsageError, match="NVENC"):
        open_writer(tmp_path / "o.mp4", fps=60, codec="h264", preset="p1", backend=CPU)


# -- config checks (mediagrid.config.ad_insertion_checks) ----------------------------------------------------
def test_config_checks_name_missing_files_and_duplicate_ids(tmp_path):
    from mediagrid.config.ad_insertion_checks import ad_insertion_issues
    from mediagrid.config.yaml_loader import load_document

    png = write_rgba_png(tmp_path / "a.png", creative_image(CREATIVES[1]))
    config = tmp_path / "ads.yaml"
    config.write_text(f"ad_insertion:\n  creatives:\n    - {{id: a, path: {png}}}\n"
                      f"    - {{id: a, path: {png}, variants: {{dark: {tmp_path / 'gone.png'}}}}}\n"
                      f"  schedule: {tmp_path / 'none.yaml'}\n")
    issues = {issue.field: issue for issue in ad_insertion_issues(load_document(config))}
    assert set(issues) == {"ad_insertion.creatives[1].id", "ad_insertion.creatives[1].variants.dark",
                           "ad_insertion.schedule"}
    assert issues["ad_insertion.creatives[1].id"].message == "creative id 'a' is already used by entry 0"
    assert "gone.png file not found" in issues["ad_insertion.creatives[1].variants.dark"].message
    assert issues["ad_insertion.schedule"].line == 5 and "none.yaml file not found" in str(
        issues["ad_insertion.schedule"])
