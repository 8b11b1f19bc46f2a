"""``report.md``: the report's numbers as Markdown tables, for terminals, pull requests and chat."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mediagrid.metrics.recorder import END_TO_END
from mediagrid.report import compare as rules
from mediagrid.report import live as live_rules
from mediagrid.report import verdict as traffic_light
from mediagrid.report.compare import Comparison, SeriesDelta
from mediagrid.report.formatting import DASH, duration, ms, rate, series_label, signed_ms, signed_pp
from mediagrid.report.live import LiveReport
from mediagrid.report.run import RunReport

SERIES_HEADER = ("series", "count", "met", "degraded", "dropped", "missed", "miss rate",
                 "p50 ms", "p99 ms", "p99.9 ms", "max ms", "deadline ms")
COMPARE_HEADER = ("series", "p50 base", "p50 new", "Δ p50 ms", "p99 base", "p99 new", "Δ p99 ms",
                  "miss rate base", "miss rate new", "Δ miss rate", "result")


def table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A GitHub-flavoured table; text columns left-aligned, numbers right-aligned."""
    header = list(header)
    align = ["---" if i == 0 or h == "result" else "--:" for i, h in enumerate(header)]
    lines = [header, align, *(list(r) for r in rows)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def series_table(report: RunReport) -> str:
    """End to end first, then each stage in pipeline order: the table `mediagrid report` prints."""
    def row(name: str, s: dict[str, Any]) -> list[str]:
        label = f"**{series_label(name)}**" if name == END_TO_END else series_label(name)
        return [label, str(s["count"]), str(s["met"]), str(s["degraded"]), str(s["dropped"]), str(s["missed"]),
                rate(s["miss_rate"]), ms(s["p50_ms"]), ms(s["p99_ms"]), ms(s["p999_ms"]), ms(s["max_ms"]),
                f"{s['deadline_ms']:g}"]

    return table(SERIES_HEADER, (row(name, s) for name, s in report.series()))


def run_markdown(report: RunReport) -> str:
    """The whole ``report.md`` of one run."""
    s, v = report.summary, report.verdict
    lines = [
        f"# Deadline-miss report: {s['app']}",
        "",
        f"**{v.level.upper()}: {v.headline}** ({v.reason})",
        "",
        f"app `{s['app']}` · device {s['device']} · config `{s['config']}` · started {s['started_at']} · "
        f"{duration(s['duration_s'])}" + (f" · stopped by {s['stopped_by']}" if "stopped_by" in s else ""),
    ]
    if "error" in s:
        lines += ["", f"> **The run ended with an error:** {s['error']}"]
    lines += ["", "## Latency and outcomes", "", series_table(report)]
    kafka = s["kafka"]
    counters = [str(kafka[k]) for k in ("consumed", "produced", "dead_lettered", "committed")]
    lines += ["", "## Kafka", "", table(("consumed", "produced", "dead-lettered", "committed", "lag"),
                                        [[*counters, str(kafka.get("lag", DASH))]])]
    if report.live is not None:
        lines += live_section(report.live)
    if report.snapshots:
        lines += ["", "## Snapshots", "", *(f"- `{p.name}`" for p in report.snapshots)]
    lines += ["", "---", "", f"RunVerdict rule: {traffic_light.RULE}.", "", report.events_note()]
    return "\n".join(lines) + "\n"


def live_section(live: LiveReport) -> list[str]:
    """The "Live feed" section: what was read and written, its warnings (or that there are none), one table per
    group with each flagged number in bold, and the rule that flags them."""
    found = live.warnings
    lines = ["", "## Live feed", "", *(f"- {about}" for about in live.about), ""]
    lines += [f"> **{len(found)} warning(s):**", *(f"> - {w}" for w in found)] if found else ["No warnings."]
    for group in live.groups:
        values = [f"**{f.value}**" if f.warning else f.value for f in group.figures]
        lines += ["", f"**{group.title}**", "", table((f.label for f in group.figures), [values])]
    return [*lines, "", f"Live feed rule: {live_rules.RULE}."]


def comparison_table(comparison: Comparison) -> str:
    """Per-series deltas of p50, p99 and miss rate, each row marked REGRESSION or ok."""
    def row(d: SeriesDelta) -> list[str]:
        b, n = d.base or {}, d.new or {}
        return [series_label(d.name),
                ms(b.get("p50_ms")), ms(n.get("p50_ms")), signed_ms(d.delta("p50_ms"), b.get("p50_ms")),
                ms(b.get("p99_ms")), ms(n.get("p99_ms")), signed_ms(d.delta("p99_ms"), b.get("p99_ms")),
                rate(b["miss_rate"]) if b else DASH, rate(n["miss_rate"]) if n else DASH,
                signed_pp(d.delta("miss_rate")), f"**{d.result}**" if d.regressions else d.result]

    return table(COMPARE_HEADER, (row(d) for d in comparison.rows))


def comparison_text(comparison: Comparison) -> str:
    """What `mediagrid report BASE NEW` prints: the delta table, then each regression and note."""
    found = comparison.regressions
    lines = [comparison_table(comparison), ""]
    lines += [f"{len(found)} regression(s):", *(f"- {r}" for r in found)] if found else ["No regressions."]
    lines += [f"Note: {n}" for n in comparison.notes]
    lines.append(f"Rule: {rules.RULE}.")
    return "\n".join(lines)


def comparison_markdown(comparison: Comparison, base: RunReport, new: RunReport) -> str:
    """``report.md`` of a comparison: the deltas on top, the new run's full report below."""
    lines = [f"# Run comparison: {new.summary['app']}", "",
             f"base `{base.path}` (started {base.summary['started_at']}) → new `{new.path}` "
             f"(started {new.summary['started_at']})", "", comparison_text(comparison), "", ""]
    return "\n".join(lines) + run_markdown(new).replace("# Deadline-miss report", "# New run", 1)
