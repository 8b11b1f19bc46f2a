"""Live translation latency, per-stage times, A/V/caption sync and degradations, on this machine.

    .venv/bin/python perf/live_translation.py [--sentences 12] [--riva embedded|HOST:PORT]

Runs configs/live_translation.yaml on a generated clip (espeak-ng reads --sentences English sentences, real
time, embedded Riva-compatible CPU server by default) and reads the result back. Prints and writes to
perf/results/live_translation.json and .md:

* end of speech -> first dubbed audio (the first TTS chunk of the dub that is used) p50/p99/max; goal p50 <= 800 ms;
* per-stage times: vad (end-of-speech detection, i.e. the configured pause), asr (end detected -> final
  transcript), translate, synthesize (both whole calls);
* sync skew of every cue (MP4 and WebVTT) and dub onset against its segment's pts, read back from the files;
* outcomes and modes (dubbed / captions only / passthrough), dubs sped up or cut, and the recogniser's WER.

The machine is shared and noisy: each result carries the load average it ran under.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

os.environ.setdefault("HOLOSCAN_LOG_LEVEL", "ERROR")

from mediagrid.config import load_app_config  # noqa: E402
from mediagrid.runner import run_app  # noqa: E402
from mediagrid.speech.sync_check import measure_sync  # noqa: E402
from mediagrid.speech.wer import word_error_rate  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SENTENCES = [
    "Good morning and welcome to the evening news.",
    "The weather will be sunny and warm tomorrow.",
    "The team scored two goals in the second half.",
    "Thank you very much for watching this program.",
    "Please call me when you arrive at the station.",
    "I would like to order a cup of coffee.",
    "We are going to the beach this weekend.",
    "My brother works in a big hospital.",
    "The children are playing in the garden.",
    "The museum opens at nine in the morning.",
    "Our reporter is waiting outside the stadium.",
    "The new bridge will open next summer.",
]
GOAL_P50_MS = 800.0


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    data = np.asarray(values, dtype=float)
    return {"n": len(values), "p50": round(float(np.percentile(data, 50)), 3),
            "p99": round(float(np.percentile(data, 99)), 3), "max": round(float(data.max()), 3)}


def _abs_stats(values: list[float | None]) -> dict[str, float | None]:
    return _stats([abs(v) for v in values if v is not None])


def _fmt(stats: dict[str, float | None], unit: str = "ms") -> str:
    if not stats["n"]:
        return "n/a"
    return (f"p50 {stats['p50']:.1f} {unit}  p99 {stats['p99']:.1f} {unit}  max {stats['max']:.1f} {unit} "
            f"(n={stats['n']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=len(SENTENCES))
    parser.add_argument("--riva", default="embedded", help="riva.uri: embedded or HOST:PORT")
    parser.add_argument("--results", type=Path, default=REPO / "perf" / "results")
    args = parser.parse_args()
    sentences = (SENTENCES * (args.sentences // len(SENTENCES) + 1))[:args.sentences]
    config = load_app_config(REPO / "configs" / "live_translation.yaml", [
        f"riva.uri={args.riva}", "live_translation.synthetic.sentences=" + json.dumps(sentences)])
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        summary = run_app(config, out_dir=out, show_progress=False)
        events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
        sync = measure_sync(out / "live_translation.mp4", out / "captions.vtt", events)
    load_after = os.getloadavg()[0]

    e2e, stages = summary["end_to_end"], summary["stages"]
    modes = Counter(e["mode"] for e in events)
    result = {
        "benchmark": "live_translation", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["perf/live_translation.py", *sys.argv[1:]]),
        "riva": args.riva, "segments": len(events), "sentences": len(sentences), "cpus": os.cpu_count(),
        "deadline_ms": e2e["deadline_ms"],
        "first_dubbed_audio_ms": _stats([e["first_audio_ms"] for e in events if e["mode"] == "dubbed"]),
        "dub_at_output_ms": {k: e2e[k] for k in ("p50_ms", "p99_ms", "max_ms")},
        "stages_ms": {name: {"p50": s["p50_ms"], "p99": s["p99_ms"], "max": s["max_ms"]}
                      for name, s in stages.items()},
        "sync_abs_ms": {"cue_mp4": _abs_stats([s.cue_skew_ms for s in sync]),
                        "cue_webvtt": _abs_stats([s.vtt_skew_ms for s in sync]),
                        "dub_onset": _abs_stats([s.dub_skew_ms for s in sync])},
        "outcomes": {k: e2e[k] for k in ("met", "degraded", "dropped", "missed")}, "modes": dict(modes),
        "dubs_sped_up": sum("dub_rate_percent" in e for e in events),
        "dubs_cut": sum("truncated_ms" in e for e in events),
        "wer": round(word_error_rate(sentences, [e["transcript"] for e in events]), 4)
        if len(events) == len(sentences) else None,
        "loadavg_1m": {"before": round(load_before, 2), "after": round(load_after, 2)},
        "per_segment": [{"start_pts_s": e["start_pts_s"], "mode": e["mode"],
                         "first_audio_ms": e.get("first_audio_ms"), "cue_skew_ms": s.cue_skew_ms,
                         "dub_skew_ms": s.dub_skew_ms, "transcript": e["transcript"]}
                        for e, s in zip(events, sync, strict=True)],
    }
    first = result["first_dubbed_audio_ms"]
    sync_all = result["sync_abs_ms"]
    lines = [
        f"$ {result['command']}",
        f"live_translation: {len(sentences)} sentences, {len(events)} segments, riva {args.riva}, "
        f"{os.cpu_count()} CPUs (load {result['loadavg_1m']['before']} -> {result['loadavg_1m']['after']})",
        f"  end of speech -> first dubbed audio  {_fmt(first)}   goal p50 <= {GOAL_P50_MS:g} ms: "
        f"{'met' if first['p50'] is not None and first['p50'] <= GOAL_P50_MS else 'NOT met'}",
        f"  end of speech -> dub at the output   p50 {e2e['p50_ms']:.1f} ms  p99 {e2e['p99_ms']:.1f} ms  "
        f"max {e2e['max_ms']:.1f} ms (deadline {e2e['deadline_ms']:g} ms)",
        "  stages: " + ", ".join(f"{k} p50 {v['p50']:.1f} / p99 {v['p99']:.1f} ms"
                                 for k, v in result["stages_ms"].items()),
        f"  sync |skew| cue (MP4)   {_fmt(sync_all['cue_mp4'])}",
        f"  sync |skew| cue (VTT)   {_fmt(sync_all['cue_webvtt'])}",
        f"  sync |skew| dub onset   {_fmt(sync_all['dub_onset'])}",
        f"  outcomes {result['outcomes']}  modes {result['modes']}  dubs sped up {result['dubs_sped_up']}, "
        f"cut {result['dubs_cut']}",
        f"  ASR word error rate {result['wer']:.1%}" if result["wer"] is not None else "  ASR WER: n/a",
    ]
    print("\n".join(lines))
    print(f"RESULT live_translation first dubbed audio p50 {first['p50']} ms p99 {first['p99']} ms, "
          f"max |sync skew| {max((s['max'] or 0) for s in sync_all.values()):.2f} ms")
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "live_translation.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.results / "live_translation.md").write_text(
        "# perf/live_translation.py\n\n```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
