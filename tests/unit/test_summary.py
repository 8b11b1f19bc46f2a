import json
from pathlib import Path

import jsonschema
import pytest

from mediagrid.metrics import OutcomeRecorder, Series, build_summary, summarize_series, write_summary
from mediagrid.scheduler import Deadline, Outcome

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "run-summary.schema.json").read_text())


def test_summarize_counts_and_miss_rate():
    s = Series()
    for latency, outcome in [(1.0, Outcome.MET), (2.0, Outcome.MET), (30.0, Outcome.MISSED),
                             (0.5, Outcome.DROPPED), (3.0, Outcome.DEGRADED)]:
        s.add(latency, outcome)
    out = summarize_series(s, 16.7)
    assert (out["count"], out["met"], out["missed"], out["dropped"], out["degraded"]) == (5, 2, 1, 1, 1)
    assert out["miss_rate"] == pytest.approx(0.4)
    assert out["p50_ms"] == pytest.approx(2.0)
    assert out["max_ms"] == pytest.approx(30.0)


def test_empty_series_has_null_percentiles():
    out = summarize_series(Series(), 10.0)
    assert out["count"] == 0 and out["miss_rate"] == 0.0 and out["p99_ms"] is None


def test_recorder_summary_matches_schema_and_events(tmp_path):
    rec = OutcomeRecorder(16.7, tmp_path / "events.jsonl")
    for i in range(10):
        d = Deadline.from_budget(i * 1_000_000, 16_700_000)
        rec.stage("work", f"s:{i}", d, d.origin_ns, d.origin_ns + 2_000_000)
        rec.finish(f"s:{i}", d, d.origin_ns + (20_000_000 if i == 9 else 3_000_000))
    rec.close()
    summary = build_summary(app="passthrough", config="c.yaml", device="cpu", started_at="2026-11-27T10:00:00Z",
                            duration_s=1.0, recorder=rec)
    jsonschema.validate(summary, SCHEMA)
    assert summary["end_to_end"]["missed"] == 1 and summary["end_to_end"]["met"] == 9
    assert summary["stages"]["work"]["count"] == 10
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert len(events) == 10 and events[-1]["outcome"] == "missed" and events[0]["stages"] == {"work": 2.0}
    path = write_summary(summary, tmp_path)
    assert json.loads(path.read_text()) == summary


def test_stage_path_records_consecutive_stages_of_one_item(tmp_path):
    rec = OutcomeRecorder(10.0, tmp_path / "events.jsonl")
    d = Deadline.from_budget(0, 10_000_000)
    rec.stage_path("r:1", d, ("queue", "search", "rerank"), (0, 1_000_000, 4_000_000, 12_000_000), degraded=True)
    rec.finish("r:1", d, 13_000_000, degraded=True, level="reduced")
    rec.close()
    series = rec.series()
    assert series["queue"].latency_ms == [1.0] and series["search"].latency_ms == [3.0]
    assert series["queue"].outcomes == [Outcome.DEGRADED] and series["rerank"].outcomes == [Outcome.MISSED]
    event = json.loads((tmp_path / "events.jsonl").read_text())
    assert event["stages"] == {"queue": 1.0, "search": 3.0, "rerank": 8.0}
    assert event["outcome"] == "missed" and event["level"] == "reduced"


def test_a_stage_is_judged_by_its_own_items_budget():
    """The overlay's telemetry stage serves 1 s deadlines beside 20 ms frames: its summary row must say 1000."""
    rec = OutcomeRecorder(20.0)
    frame = Deadline.from_budget(0, 20_000_000)
    message = Deadline.from_budget(0, 1_000_000_000)
    rec.stage("composite", "f:1", frame, 0, 2_000_000)
    rec.finish("f:1", frame, 3_000_000)
    rec.stage("telemetry", "m:1", message, 0, 30_000_000)
    summary = build_summary(app="sports_overlay", config="c.yaml", device="cpu", started_at="2026-11-27T10:00:00Z",
                            duration_s=1.0, recorder=rec)
    assert summary["end_to_end"]["deadline_ms"] == 20.0
    assert summary["stages"]["composite"]["deadline_ms"] == 20.0
    assert summary["stages"]["telemetry"]["deadline_ms"] == 1000.0 and summary["stages"]["telemetry"]["met"] == 1


LIVE_SUMMARY = Path(__file__).resolve().parents[1] / "data" / "live_summary.json"


def test_live_run_sections_match_the_schema():
    """A live run's summary (trimmed from a real ad insertion run: UDP feed in, HLS out) validates, and so does
    one with an MPEG-TS output and a feed that never published a frame (null glass-to-glass percentiles)."""
    summary = json.loads(LIVE_SUMMARY.read_text())
    jsonschema.validate(summary, SCHEMA)
    summary["ts_out"] = {"url": "udp://127.0.0.1:5002", "frames": 10, "cues_passed": 1, "cues_unplaced": 0}
    summary["hls"]["glass_to_glass"] = {"p50_ms": None, "p99_ms": None, "max_ms": None}
    jsonschema.validate(summary, SCHEMA)


@pytest.mark.parametrize(("path", "value"), [
    (("hls", "glass_to_glass", "p50_ms"), "1085.8"),  # a string where a latency belongs
    (("hls", "segment_count"), 14),  # a key the writer never writes
    (("live", "playout", "stand_ins"), -1),
    (("live", "cues", "corrupt"), 1.5),
    (("live", "format", "fps"), 0),
    (("ts_out",), {"url": "udp://127.0.0.1:5002", "frames": 10}),  # cue counts missing
    (("ads", "avails", "filled"), 1),
])
def test_malformed_live_sections_are_rejected(path, value):
    summary = json.loads(LIVE_SUMMARY.read_text())
    *parents, key = path
    target = summary
    for name in parents:
        target = target[name]
    target[key] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(summary, SCHEMA)


def test_live_sections_need_every_count():
    summary = json.loads(LIVE_SUMMARY.read_text())
    del summary["live"]["feed"]["reconnects"]
    with pytest.raises(jsonschema.ValidationError, match="'reconnects' is a required property"):
        jsonschema.validate(summary, SCHEMA)
