"""`mediagrid run configs/live_translation.yaml` end to end: a spoken clip in, a dubbed program out.

The clip is generated at start (espeak-ng speaks known sentences); the program is read back independently
(ffprobe, PyAV) to check its streams, that every cue and dub starts within 10 ms of its segment's pts, and
the recogniser's word error rate. Riva failures (errors, a slow server, no server) must degrade segments,
be counted, and never fail the run.
"""
from __future__ import annotations

import json
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import m3u8
import numpy as np
import pytest
from riva.client.proto import riva_asr_pb2_grpc as rasr_srv
from riva.client.proto import riva_nmt_pb2_grpc as rnmt_srv
from riva.client.proto import riva_tts_pb2_grpc as rtts_srv

from mediagrid.speech.riva_server.asr import AsrServicer
from mediagrid.speech.riva_server.engines import shared_engines
from mediagrid.speech.riva_server.nmt import NmtServicer
from mediagrid.speech.riva_server.tts import TtsServicer
from mediagrid.speech.clip import DEFAULT_SENTENCES
from mediagrid.speech.sync_check import measure_sync, read_audio, read_cues
from mediagrid.speech.wer import word_error_rate

pytestmark = pytest.mark.slow

CONFIG = "configs/live_translation.yaml"
SYNC_MS = 10.0


def _run(cli, out: Path, *overrides: str) -> tuple[dict, list[dict]]:
    args = ["run", CONFIG, "--out", str(out), "--no-progress"]
    for override in overrides:
        args += ["--set", override]
    done = cli(*args, timeout=180)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    return summary, events


def _sentences(*texts: str) -> str:
    return "live_translation.synthetic.sentences=" + json.dumps(list(texts))


def _streams(path: Path) -> dict[str, str]:
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name", "-of", "json",
                            str(path)], capture_output=True, text=True, check=True)
    return {s["codec_type"]: s["codec_name"] for s in json.loads(probe.stdout)["streams"]}


def _video_pts(path: Path) -> list[str]:
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time",
                            "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True)
    return probe.stdout.split()


def test_the_dubbed_program_is_in_sync(cli, tmp_path):
    # a generous budget and delay: this test checks placement and quality, not speed (perf/ does that)
    summary, events = _run(cli, tmp_path, "deadlines.segment_ms=5000", "live_translation.program_delay_ms=12000")
    program, source = tmp_path / "live_translation.mp4", tmp_path / "source.mp4"
    assert summary["end_to_end"]["count"] == len(DEFAULT_SENTENCES) == len(events)
    assert [e["mode"] for e in events] == ["dubbed"] * len(events), [e.get("failure") for e in events]
    assert set(summary["stages"]) == {"vad", "asr", "translate", "synthesize"}

    assert _streams(program) == {"video": "h264", "audio": "aac", "subtitle": "mov_text"}
    assert _video_pts(program) == _video_pts(source)  # the video is the source's, frame for frame

    for segment in measure_sync(program, tmp_path / "captions.vtt", events):
        for skew in (segment.cue_skew_ms, segment.vtt_skew_ms, segment.dub_skew_ms):
            assert skew is not None and abs(skew) <= SYNC_MS, segment
    cues = read_cues(program)
    assert [c.text for c in cues] == [e["translation"] for e in events]
    assert all(a.end_s <= b.start_s for a, b in zip(cues, cues[1:]))  # no cue runs into the next

    assert word_error_rate(DEFAULT_SENTENCES, [e["transcript"] for e in events]) <= 0.15


def test_the_dubbed_program_as_live_hls_with_a_subtitle_rendition(cli, tmp_path):
    """sink.kind hls: a master playlist with the program (video + dubbed audio, tagged Spanish) and WebVTT
    subtitles cut at the same instants; every caption is in each subtitle segment its time overlaps."""
    hls = tmp_path / "hls"
    summary, events = _run(cli, tmp_path / "run", "deadlines.segment_ms=5000",
                           "live_translation.program_delay_ms=12000",
                           f"sink={{kind: hls, dir: {hls}, segment_s: 2, window: 50}}")
    assert [e["mode"] for e in events] == ["dubbed"] * len(DEFAULT_SENTENCES)
    master = m3u8.load(str(hls / "index.m3u8"))
    (subtitles,) = master.media
    assert (subtitles.type, subtitles.language, subtitles.uri) == ("SUBTITLES", "es", "subtitles.m3u8")
    assert master.playlists[0].stream_info.subtitles == subtitles.group_id
    program = m3u8.load(str(hls / master.playlists[0].uri))
    captions = m3u8.load(str(hls / "subtitles.m3u8"))
    assert program.is_endlist and captions.is_endlist and len(program.segments) >= 5
    assert [s.duration for s in captions.segments] == [s.duration for s in program.segments]
    assert sum(s.duration for s in program.segments) == pytest.approx(12.3, abs=0.2)  # the whole clip
    start = 0.0
    for media, vtt in zip(program.segments, captions.segments):
        assert _streams(hls / media.uri) == {"video": "h264", "audio": "aac"}
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream_tags=language", "-of", "csv=p=0",
                                "-select_streams", "a", str(hls / media.uri)], capture_output=True, text=True)
        assert probe.stdout.split()[:1] == ["spa"]
        text = (hls / vtt.uri).read_text()
        assert text.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000")
        end = start + media.duration
        for event in events:  # the cue is in this segment exactly when their times overlap (edges: the segment
            margin = 0.05     # starts on its first frame's PTS, a few ms after the playlist's running sum)
            if event["cue_start_s"] < end - margin and event["cue_end_s"] > start + margin:
                assert event["translation"] in text, (vtt.uri, event["translation"])
            elif event["cue_start_s"] > end + margin or event["cue_end_s"] < start - margin:
                assert event["translation"] not in text, (vtt.uri, event["translation"])
        start = end


class _FailingNmt(NmtServicer):
    """The first translation fails with INTERNAL."""

    calls = 0

    def TranslateText(self, request, context):  # noqa: N802 - gRPC's name
        _FailingNmt.calls += 1
        if _FailingNmt.calls == 1:
            context.abort(grpc.StatusCode.INTERNAL, "injected failure")
        return super().TranslateText(request, context)


class _SlowTts(TtsServicer):
    """The first synthesis answers only after the segment's budget is long gone."""

    calls = 0
    delay_s = 4.0

    def SynthesizeOnline(self, request_iterator, context):  # noqa: N802 - gRPC's name
        _SlowTts.calls += 1
        if _SlowTts.calls == 1:
            time.sleep(self.delay_s)
        yield from super().SynthesizeOnline(request_iterator, context)


@pytest.fixture
def faulty_riva():
    engines = shared_engines()
    server = grpc.server(ThreadPoolExecutor(8))
    rasr_srv.add_RivaSpeechRecognitionServicer_to_server(AsrServicer(engines), server)
    rnmt_srv.add_RivaTranslationServicer_to_server(_FailingNmt(engines), server)
    rtts_srv.add_RivaSpeechSynthesisServicer_to_server(_SlowTts(engines), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


def test_riva_errors_and_slowness_degrade_segments_without_failing_the_run(cli, tmp_path, faulty_riva):
    sentences = DEFAULT_SENTENCES[:3]
    summary, events = _run(cli, tmp_path, f"riva.uri={faulty_riva}", _sentences(*sentences),
                           "deadlines.segment_ms=3000", "live_translation.program_delay_ms=9000")
    assert [e["mode"] for e in events] == ["passthrough", "captions_only", "dubbed"]
    assert "translate: INTERNAL: injected failure" in events[0]["failure"]
    assert events[1]["failure"].startswith("synthesize: DEADLINE_EXCEEDED")
    e2e = summary["end_to_end"]
    assert (e2e["dropped"], e2e["degraded"], e2e["met"] + e2e["missed"]) == (1, 1, 1)
    assert summary["stages"]["translate"]["dropped"] == 1 and summary["stages"]["synthesize"]["dropped"] == 1

    program = tmp_path / "live_translation.mp4"
    assert [c.text for c in read_cues(program)] == [events[1]["translation"], events[2]["translation"]]
    # the failed segment keeps the source's English: the program's audio there is the source's audio
    out, rate, _ = read_audio(program)
    original, _, _ = read_audio(tmp_path / "source.mp4")
    span = slice(round(events[0]["start_pts_s"] * rate), round(events[0]["end_pts_s"] * rate))
    assert np.corrcoef(out[span], original[span])[0, 1] > 0.9


def test_without_a_riva_server_the_original_passes_through(cli, tmp_path):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    summary, events = _run(cli, tmp_path, f"riva.uri=127.0.0.1:{closed}", _sentences(DEFAULT_SENTENCES[0]))
    assert [e["mode"] for e in events] == ["passthrough"]
    assert events[0]["failure"].startswith("asr: UNAVAILABLE")
    assert summary["end_to_end"]["dropped"] == 1 and summary["stopped_by"] == "end_of_stream"
    assert _streams(tmp_path / "live_translation.mp4") == {"video": "h264", "audio": "aac", "subtitle": "mov_text"}
    assert read_cues(tmp_path / "live_translation.mp4") == []
