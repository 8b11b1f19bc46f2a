"""Deadline-miss reports from run directories built here with known outcomes.

Runs are recorded through the real :class:`OutcomeRecorder` and summary code with chosen timestamps, so
the files are exactly what ``mediagrid run`` writes and every expected number below follows from the plan
in :func:`make_run` by hand.
"""
from __future__ import annotations

import json
import re
import struct
import zlib
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from mediagrid.errors import MediagridError, UsageError
from mediagrid.metrics import OutcomeRecorder, build_summary, write_summary
from mediagrid.report import RunDirectoryError, compare_runs, write_report
from mediagrid.report.compare import compare_summaries
from mediagrid.report.events import read_events
from mediagrid.report.figures import MAX_BINS, bin_width_s, cdf, timeline
from mediagrid.report.page import page_data
from mediagrid.report.verdict import verdict
from mediagrid.scheduler import Deadline

MS = 1_000_000  # ns
FRAME_NS = 16_666_667  # 60 fps
DEADLINE_MS = 16.7
ITEMS = 600  # 10 s at 60 fps
DEGRADED = range(120, 132)  # 12 items in second 2: cheap variant, 3 ms end to end
MISSED = range(240, 246)  # 6 items in second 4: process takes 18 ms, 20 ms end to end
DROPPED = range(420, 423)  # 3 items in second 7: dropped at process after 0.5 ms, 1.5 ms end to end


def make_run(out: Path, *, slow_ms: float = 0.0, extra_missed: range = range(0), kafka: dict | None = None) -> Path:
    """A 600-item passthrough-like run: source 1 ms, process 3 ms (+ ``slow_ms``), 1 ms queueing, 5 ms end
    to end, except the items in DEGRADED, MISSED (and ``extra_missed``) and DROPPED above."""
    recorder = OutcomeRecorder(DEADLINE_MS, out / "events.jsonl")
    start = recorder.started_ns
    for i in range(ITEMS):
        item = f"edge-test:{i}"
        deadline = Deadline.from_budget(start + i * FRAME_NS, round(DEADLINE_MS * MS))
        origin = deadline.origin_ns
        recorder.stage("source", item, deadline, origin, origin + 1 * MS)
        if i in DROPPED:
            recorder.stage("process", item, deadline, origin + 1 * MS, origin + 1 * MS + MS // 2, dropped=True)
            recorder.finish(item, deadline, origin + 1 * MS + MS // 2, dropped=True, stage="process")
            continue
        late = i in MISSED or i in extra_missed
        process_ns = 18 * MS if late else MS if i in DEGRADED else round((3 + slow_ms) * MS)
        done = origin + 1 * MS + process_ns
        recorder.stage("process", item, deadline, origin + 1 * MS, done, degraded=i in DEGRADED)
        recorder.finish(item, deadline, done + (MS if i not in DEGRADED else 0), degraded=i in DEGRADED)
    recorder.close()
    summary = build_summary(app="passthrough", config="configs/passthrough.yaml", device="cpu",
                            started_at="2026-11-27T10:00:00Z", duration_s=10.0, recorder=recorder, kafka=kafka,
                            extra={"stopped_by": "frames"})
    write_summary(summary, out)
    return out


def tiny_png() -> bytes:
    """A valid 1x1 PNG, made by hand so the tests need no imaging library."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def md_row(markdown: str, label: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith(f"| {label} |"))


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


def test_markdown_has_the_planned_numbers(run: Path) -> None:
    html_path, md_path, table = write_report(run)
    assert (html_path, md_path) == (run / "report.html", run / "report.md")
    md = md_path.read_text()
    # 579 met at 5 ms, 12 degraded at 3 ms, 6 missed at 20 ms, 3 dropped at 1.5 ms. Linear-interpolated
    # percentiles: p99 sits 1 % of the way from the last 5 ms item to the first 20 ms one (5.15 ms).
    e2e = "| **end to end** | 600 | 579 | 12 | 3 | 6 | 1.500% | 5.000 | 5.150 | 20.000 | 20.000 | 16.7 |"
    assert md_row(md, "**end to end**") == e2e
    assert md_row(md, "source") == "| source | 600 | 600 | 0 | 0 | 0 | 0.000% | 1.000 | 1.000 | 1.000 | 1.000 | 16.7 |"
    assert md_row(md, "process") == ("| process | 600 | 579 | 12 | 3 | 6 | 1.500% | 3.000 | 3.150 | 18.000 | 18.000 "
                                     "| 16.7 |")
    assert table.splitlines()[2] == e2e and table in md  # the printed table is report.md's
    assert "**RED: DEADLINES MISSED**" in md  # 1.5 % miss rate is above the 1 % red line
    assert "Per-item plots from 600 item(s) in events.jsonl." in md


def test_stages_follow_the_pipeline_not_the_alphabet(run: Path) -> None:
    _, _, table = write_report(run)
    labels = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert labels == ["**end to end**", "source", "process"]


def test_injected_misses_land_in_their_time_bins(run: Path) -> None:
    html_path, _, _ = write_report(run)
    data = page_data(html_path.read_text())
    tl = data["timeline"]
    assert tl["bin_s"] == 0.1  # a 10 s run gets sub-second bins

    def seconds(outcome: str) -> dict[int, int]:
        per_second: dict[int, int] = {}
        for index, count in enumerate(tl["counts"][outcome]):
            if count:
                second = int(index * tl["bin_s"] + 1e-9)
                per_second[second] = per_second.get(second, 0) + count
        return per_second

    assert seconds("missed") == {4: 6}
    assert seconds("dropped") == {7: 3}
    assert seconds("degraded") == {2: 12}
    assert sum(tl["counts"]["met"]) == 579
    late_bins = [i for i, c in enumerate(tl["counts"]["missed"]) if c]
    assert all(tl["max_ms"][i] == 20.0 for i in late_bins)
    e2e = data["series"][0]
    assert (e2e["name"], e2e["count"], e2e["missed"], e2e["dropped"]) == ("end_to_end", 600, 6, 3)
    assert e2e["cdf"]["x"][-1] == 20.0 and e2e["cdf"]["p"][-1] == 1.0


def test_html_is_self_contained_and_names_the_verdict(run: Path) -> None:
    (run / "frame_0001.png").write_bytes(tiny_png())
    (run / "notes.png").write_text("not an image")  # must not become a broken <img>
    html = write_report(run)[0].read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.I)
    assert "<link" not in html and "@import" not in html and "url(http" not in html
    assert html.count("data:image/png;base64,") == 1 and "frame_0001.png" in html and "notes.png" not in html
    assert 'class="verdict red"' in html and "DEADLINES MISSED" in html
    assert len(re.findall(r'<figure class="plot" data-plot="\w+">', html)) == 5 and 'data-rendered="pending"' in html


def test_comparison_flags_a_regression_in_the_new_run(tmp_path: Path) -> None:
    base = make_run(tmp_path / "base")
    new = make_run(tmp_path / "new", slow_ms=2.5, extra_missed=range(500, 510))
    html_path, md_path, text, regressions = compare_runs(base, new)
    assert (html_path, md_path) == (new / "report.html", new / "report.md")
    # 16 of 600 items now miss (20 ms), so p99 moves onto them; process p99 likewise (18 ms).
    assert regressions == [
        "end to end: p99 5.150 -> 20.000 ms (+14.850 ms, +288.3%)",
        "end to end: miss rate 1.500% -> 3.167% (+1.667 pp)",
        "process: p99 3.150 -> 18.000 ms (+14.850 ms, +471.4%)",
        "process: miss rate 1.500% -> 3.167% (+1.667 pp)",
    ]
    assert "4 regression(s):" in text and "**REGRESSION**" in md_row(text, "process")
    assert md_row(text, "source").endswith("| ok |")
    md = md_path.read_text()
    assert md.startswith("# Run comparison: passthrough") and text in md and "# New run: passthrough" in md
    data = page_data(html_path.read_text())
    assert data["compare"] == {"base": str(base)} and data["series"][0]["base_cdf"] is not None
    assert not (base / "report.html").exists()  # the base run is only read


def test_comparison_of_equal_runs_finds_nothing(tmp_path: Path) -> None:
    base, new = make_run(tmp_path / "a"), make_run(tmp_path / "b", slow_ms=0.2)  # p99 +0.2 ms: noise
    _, _, text, regressions = compare_runs(base, new)
    assert regressions == [] and "No regressions." in text


def _series(p99: float | None, miss_rate: float) -> dict:
    return {"count": 1000, "met": 1000, "degraded": 0, "dropped": 0, "missed": 0, "miss_rate": miss_rate,
            "deadline_ms": 16.7, "p50_ms": 1.0, "p99_ms": p99, "p999_ms": p99, "max_ms": p99}


def _summary(p99: float | None, miss_rate: float = 0.0) -> dict:
    return {"app": "a", "device": "cpu", "started_at": "2026-11-27T10:00:00Z", "end_to_end": _series(p99, miss_rate),
            "stages": {}}


@pytest.mark.parametrize(("base", "new", "flagged"), [
    (_summary(10.0), _summary(10.9), False),  # +9 %, +0.9 ms: under 10 %
    (_summary(10.0), _summary(11.2), True),  # +12 %, +1.2 ms
    (_summary(1.0), _summary(1.4), False),  # +40 % but only +0.4 ms
    (_summary(2.0, 0.010), _summary(2.0, 0.0105), False),  # +0.05 pp
    (_summary(2.0, 0.010), _summary(2.0, 0.0125), True),  # +0.25 pp
    (_summary(12.0, 0.02), _summary(3.0, 0.0), False),  # improvements are not regressions
    (_summary(None), _summary(30.0), False),  # no base percentile: nothing to compare against
])
def test_regression_rule(base: dict, new: dict, flagged: bool) -> None:
    assert bool(compare_summaries(base, new, []).regressions) is flagged


def test_comparison_notes_stages_and_setups_that_differ() -> None:
    base, new = _summary(1.0), _summary(1.0)
    base["stages"]["decode"] = _series(1.0, 0.0)
    new["device"] = "gpu"
    notes = compare_summaries(base, new, []).notes
    assert "decode: only in the base run" in notes and "different devices: base cpu, new gpu" in notes


@pytest.mark.parametrize(("e2e", "level"), [
    ({"count": 0, "degraded": 0, "miss_rate": 0.0}, "grey"),
    ({"count": 1000, "degraded": 10, "miss_rate": 0.0005}, "green"),
    ({"count": 1000, "degraded": 0, "miss_rate": 0.002}, "amber"),
    ({"count": 1000, "degraded": 60, "miss_rate": 0.0}, "amber"),  # deadlines held only by degrading
    ({"count": 1000, "degraded": 0, "miss_rate": 0.011}, "red"),
])
def test_verdict_levels(e2e: dict, level: str) -> None:
    assert verdict(e2e).level == level


def test_missing_run_directory_and_summary_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(RunDirectoryError, match=re.escape(f"{tmp_path / 'nope'}: no such run directory")):
        write_report(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirectoryError, match=re.escape(f"{tmp_path / 'empty' / 'summary.json'}: missing")) as exc:
        write_report(tmp_path / "empty")
    assert isinstance(exc.value, UsageError) and isinstance(exc.value, MediagridError) and exc.value.exit_code == 2


def test_summary_that_is_not_json_gives_its_location(run: Path) -> None:
    (run / "summary.json").write_text('{"app": "passthrough",\n  "device": }\n')
    with pytest.raises(RunDirectoryError, match=re.escape(f"{run / 'summary.json'}:2:13: not valid JSON")):
        write_report(run)


def test_summary_against_the_schema_lists_every_problem(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    summary["device"] = "tpu"
    del summary["kafka"]
    summary["stages"]["process"]["p99_ms"] = -1
    (run / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(RunDirectoryError) as exc:
        write_report(run)
    lines = str(exc.value).splitlines()
    assert lines == [
        f"{run / 'summary.json'}: (top level): 'kafka' is a required property",
        f"{run / 'summary.json'}: device: 'tpu' is not one of ['cpu', 'gpu']",
        f"{run / 'summary.json'}: stages.process.p99_ms: -1 is less than the minimum of 0",
    ]
    assert not (run / "report.html").exists()


def test_report_without_events_uses_the_summary_alone(run: Path) -> None:
    (run / "events.jsonl").unlink()
    html_path, md_path, table = write_report(run)
    assert "| **end to end** | 600 | 579 |" in table
    assert "No events.jsonl" in md_path.read_text()
    data = page_data(html_path.read_text())
    assert data["timeline"] is None and all(s["cdf"] is None for s in data["series"])


def test_cut_off_last_event_line_is_skipped_and_counted(run: Path) -> None:
    with (run / "events.jsonl").open("a") as f:
        f.write('{"id":"edge-test:600","t_ms":10000.0,"outcome":"me')  # the run was killed mid-write
    events = read_events(run / "events.jsonl")
    assert (events.count, events.skipped_lines) == (600, 1)
    assert "1 malformed line(s) skipped" in write_report(run)[1].read_text()


def test_large_runs_give_small_plot_data() -> None:
    rng = np.random.default_rng(7)
    latencies = rng.lognormal(1.0, 0.5, 1_000_000).astype(np.float32)
    points = cdf(latencies)
    assert points is not None and len(points["x"]) < 600
    assert points["x"] == sorted(points["x"]) and points["p"][-1] == 1.0
    assert points["x"][-1] == pytest.approx(float(latencies.max()), abs=1e-4)  # the worst item is kept
    assert 0.9999 < points["p"][-2] < 1.0  # and the tail just below it


@pytest.mark.parametrize(("span_s", "width"), [(5, 0.1), (30, 0.5), (59, 0.5), (60, 1), (1800, 1), (3600, 2),
                                               (86_400, 60)])
def test_timeline_bins(span_s: float, width: float) -> None:
    assert bin_width_s(span_s) == width and span_s / width <= MAX_BINS


def test_large_run_report_stays_small(tmp_path: Path) -> None:
    """200k items (an hour of a 60 fps stream) give a page of about the same size as 600 do."""
    run = make_run(tmp_path / "big")
    rng = np.random.default_rng(3)
    n = 200_000
    t = np.sort(rng.uniform(0, 3_600_000, n))
    latency = rng.lognormal(1.5, 0.4, n)
    with (run / "events.jsonl").open("w") as f:
        for i in range(n):
            f.write(f'{{"id":"x:{i}","t_ms":{t[i]:.3f},"outcome":"{"missed" if latency[i] > 16.7 else "met"}",'
                    f'"latency_ms":{latency[i]:.4f},"deadline_ms":16.7,"stages":{{"source":1.0,'
                    f'"process":{latency[i] - 1:.4f}}}}}\n')
    html_path, _, _ = write_report(run)
    assert html_path.stat().st_size < 400_000
    data = page_data(html_path.read_text())
    assert len(data["timeline"]["counts"]["met"]) == 1800 and data["timeline"]["bin_s"] == 2
    assert sum(sum(c) for c in data["timeline"]["counts"].values()) == n


def test_timeline_of_a_run_with_no_items_is_empty(run: Path) -> None:
    (run / "events.jsonl").write_text("")
    assert timeline(read_events(run / "events.jsonl"), 10.0) is None


def test_page_assets_ship_with_the_package() -> None:
    """report.html inlines these; a wheel without them (missing package-data) must fail here."""
    assets = files("mediagrid.report") / "assets"
    assert (assets / "report.js").read_text().strip() and (assets / "report.css").read_text().strip()


LIVE_SUMMARY = Path(__file__).resolve().parents[1] / "data" / "live_summary.json"


def make_live_run(out: Path, **changes: dict) -> Path:
    """The planned run of :func:`make_run` with the live sections of a real ad insertion run (UDP feed in, HLS
    out, one SCTE-35 avail filled by the fallback creative); ``changes`` overrides keys inside those sections."""
    make_run(out)
    summary = json.loads((out / "summary.json").read_text())
    live = json.loads(LIVE_SUMMARY.read_text())
    summary.update({key: live[key] for key in ("live", "hls", "ads")})
    for section, values in changes.items():
        target = summary
        for name in section.split("."):
            target = target[name]
        target.update(values)
    (out / "summary.json").write_text(json.dumps(summary))
    return out


def md_group(markdown: str, title: str) -> tuple[str, str]:
    """The header and the values row of one group table of the Live feed section."""
    lines = markdown.splitlines()
    start = lines.index(f"**{title}**")
    return lines[start + 2], lines[start + 4]


def test_live_section_has_the_feed_numbers(tmp_path: Path) -> None:
    run = make_live_run(tmp_path / "live")
    html_path, md_path, _ = write_report(run)
    md = md_path.read_text()
    assert "## Live feed" in md and md.index("## Kafka") < md.index("## Live feed")
    assert "- feed udp://127.0.0.1:5000 · 1280×720 · 60 fps · with audio" in md and "- HLS into out/hls" in md
    assert "- last feed problem: cannot open the feed" in md
    assert md_group(md, "Feed") == ("| frames | audio packets | reconnects | read errors | decode errors | overrun |",
                                    "| 1,541 | 1,200 | 1 | 0 | 0 | 0 |")  # a retry before the first connect: fine
    assert md_group(md, "Play-out") == ("| played | late skipped | stand-ins | gaps | discontinuities |",
                                        "| 1,501 | **4** | 0 | 0 | 0 |")
    assert md_group(md, "SCTE-35 cues") == ("| opened |", "| 1 |")  # outcomes that did not happen are left out
    assert md_group(md, "Ad avails") == ("| filled | decided | fallback | unfilled | frames in avails |",
                                         "| 1 of 1 | 0 | 1 | 0 | 300 |")
    assert md_group(md, "HLS output") == (
        "| segments | frames | audio packets | audio dropped | break signals | break errors |",
        "| 14 | 1,501 | 1,172 | 0 | 2 | 0 |")
    assert md_group(md, "Glass to glass") == ("| p50 ms | p99 ms | max ms |", "| 1085.800 | 2102.500 | 2156.600 |")
    assert "> **1 warning(s):**\n> - play-out late skipped: 4 (pictures passed over" in md
    html = html_path.read_text()
    assert '<section class="card wide" id="live"><h2>Live feed</h2>' in html
    assert '<div class="status bad">1 warning</div>' in html and '<td class="bad">4</td>' in html
    assert "<h3>MPEG-TS output</h3>" not in html  # an HLS run has no MPEG-TS output


def test_live_section_flags_what_went_wrong_on_air(tmp_path: Path) -> None:
    run = make_live_run(tmp_path / "live", **{
        "live.feed": {"connects": 3, "reconnects": 4}, "live.playout": {"late_skipped": 0, "stand_ins": 90, "gaps": 1},
        "live.cues": {"corrupt": 2, "last_corrupt": "CRC-32 mismatch", "closed": 1, "repeated": 3},
        "hls": {"audio_dropped": 5}, "ads.avails": {"unfilled": 1}})
    html_path, md_path, _ = write_report(run)
    md = md_path.read_text()
    assert md_group(md, "Feed")[1] == "| 1,541 | 1,200 | **4** | 0 | 0 | 0 |"
    assert md_group(md, "Play-out")[1] == "| 1,501 | 0 | **90** | **1** | 0 |"
    assert md_group(md, "SCTE-35 cues") == ("| opened | repeated | closed | corrupt |", "| 1 | 3 | 1 | **2** |")
    assert md_group(md, "Ad avails")[1] == "| 1 of 2 | 0 | 1 | **1** | 300 |"
    assert md_group(md, "HLS output")[1] == "| 14 | 1,501 | 1,172 | **5** | 2 | 0 |"
    warnings = [line.removeprefix("> - ") for line in md.splitlines() if line.startswith("> - ")]
    assert [w.split(" (")[0] for w in warnings] == [
        "feed reconnects: 4", "play-out stand-ins: 90", "play-out gaps: 1", "SCTE-35 corrupt: 2",
        "ad avails unfilled: 1", "HLS audio dropped: 5"]
    assert "lost 2 time(s) after connecting" in warnings[0] and warnings[3].endswith("; last: CRC-32 mismatch)")
    assert "> **6 warning(s):**" in md
    html = html_path.read_text()
    assert '<div class="status bad">6 warnings</div>' in html
    assert all(f'<td class="bad">{n}</td>' in html for n in ("4", "90", "2", "5"))
    assert "<li>play-out stand-ins: 90 (held pictures or slates" in html


def test_live_section_of_an_mpeg_ts_output_without_ads(tmp_path: Path) -> None:
    run = make_live_run(tmp_path / "live", **{"live.playout": {"late_skipped": 0}})
    summary = json.loads((run / "summary.json").read_text())
    del summary["hls"], summary["ads"]
    summary["ts_out"] = {"url": "udp://127.0.0.1:5002", "frames": 1501, "cues_passed": 1, "cues_unplaced": 0}
    (run / "summary.json").write_text(json.dumps(summary))
    html_path, md_path, _ = write_report(run)
    md = md_path.read_text()
    assert md_group(md, "MPEG-TS output") == ("| frames | cues passed | cues unplaced |", "| 1,501 | 1 | 0 |")
    assert "- MPEG-TS to udp://127.0.0.1:5002" in md and "No warnings." in md
    assert "**Ad avails**" not in md and "**HLS output**" not in md and "**Glass to glass**" not in md
    assert '<div class="status ok">No warnings</div>' in html_path.read_text()


def test_file_runs_have_no_live_section(run: Path) -> None:
    html_path, md_path, _ = write_report(run)
    assert "Live feed" not in md_path.read_text() and 'id="live"' not in html_path.read_text()
