"""``report.html``: one self-contained page (CSS, JavaScript, data and snapshots all inline).

The page must open anywhere (a CI artifact, a mail attachment, a node with no internet), so it fetches
nothing. Text a reader needs without interaction (header, verdict, tables) is rendered here, in HTML;
plots are drawn by ``assets/report.js`` from the embedded JSON, which also makes the numbers behind
every plot machine-readable (``<script id="report-data">``).
"""
from __future__ import annotations

import base64
import json
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

from mediagrid.metrics.recorder import END_TO_END
from mediagrid.report import compare as rules
from mediagrid.report import live as live_rules
from mediagrid.report import verdict as traffic_light
from mediagrid.report.compare import Comparison
from mediagrid.report.formatting import DASH, duration, ms, rate, series_label, signed_ms, signed_pp
from mediagrid.report.live import LiveReport
from mediagrid.report.payload import payload
from mediagrid.report.run import RunReport

#: Snapshots are embedded until their total size passes this; later ones are listed by name only, so a
#: run that saved many frames still gives a report that opens quickly (and stays under 5 MB).
SNAPSHOT_BUDGET_BYTES = 3 * 1024 * 1024  # about 4 MB once base64-encoded


def _asset(name: str) -> str:
    return (files("mediagrid.report") / "assets" / name).read_text(encoding="utf-8")


def render(report: RunReport, comparison: Comparison | None = None, base: RunReport | None = None) -> str:
    """The whole page of one run; with a comparison, its delta table sits above the run's own plots."""
    s = report.summary
    data = json.dumps(payload(report, base), separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    title = f"{s['app']}: {report.verdict.level} — deadline-miss report"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_asset('report.css')}</style></head>",
        '<body data-rendered="pending">',
        _header(report),
        '<pre id="render-errors" class="banner" hidden></pre>',
    ]
    if "error" in s:
        parts.append(f'<div class="banner"><b>The run ended with an error:</b> {escape(s["error"])}</div>')
    parts.append("<main>")
    if comparison is not None and base is not None:
        parts.append(_comparison(comparison, base, report))
    parts += [
        _card("Latency distribution", "Share of items per latency, for the whole path and each stage. The "
              "deadline is the red line; where a curve crosses it shows the share that made it. Click the "
              "legend to hide a series; hover for values.", "cdf", wide=True),
        _card("Misses over time", "Per time bin: the end-to-end p99 and max against the deadline (top), and "
              "the items that missed, were dropped or degraded (bottom).", "timeline", wide=True),
        _card("Outcomes", "How the items ended, end to end and per stage. "
              "Miss rate = (missed + dropped) / items.", "outcomes"),
        _card("Stage budget", "p50 and p99 of each stage against the whole item's deadline; the "
              "percentage is p99's share of it.", "budget"),
        _card("Kafka", "Messages this run consumed, produced, committed and dead-lettered.", "kafka", wide=True),
        _numbers(report),
    ]
    if report.live is not None:
        parts.append(_live(report.live))
    if report.snapshots:
        parts.append(_snapshots(report.snapshots))
    parts += [
        "</main>",
        "<footer>",
        f"<p>RunVerdict rule: {escape(traffic_light.RULE)}.</p>",
        f"<p>{escape(report.events_note())}</p>",
        f"<p>Run directory <code>{escape(str(report.path))}</code>; written by <code>mediagrid report</code>.</p>",
        "</footer>",
        f'<script type="application/json" id="report-data">{data}</script>',
        f"<script>{_asset('report.js')}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _header(report: RunReport) -> str:
    s, v = report.summary, report.verdict
    e2e = s["end_to_end"]
    count, deadline = e2e["count"], e2e["deadline_ms"]
    started = s["started_at"].replace("T", " ").replace("Z", " UTC")
    meta = [s["device"], duration(s["duration_s"]), f"started {started}", s["config"]]
    if "stopped_by" in s:
        meta.append(f"stopped by {s['stopped_by']}")
    p99_share = f"{e2e['p99_ms'] / deadline:.0%} of the {deadline:g} ms deadline" if e2e["p99_ms"] is not None else ""
    per_second = f"{count / s['duration_s']:.1f} per second" if s["duration_s"] else ""
    degraded_share = f"{e2e['degraded'] / count:.1%} of items" if count else ""
    kpis = [
        ("miss rate", rate(e2e["miss_rate"]), f"{e2e['missed']} missed · {e2e['dropped']} dropped"),
        ("p99 end to end", f"{ms(e2e['p99_ms'])} ms" if e2e["p99_ms"] is not None else DASH, p99_share),
        ("worst item", f"{ms(e2e['max_ms'])} ms" if e2e["max_ms"] is not None else DASH,
         f"p50 {ms(e2e['p50_ms'])} ms"),
        ("items", f"{count:,}", per_second),
        ("degraded", f"{e2e['degraded']:,}", degraded_share),
    ]
    tiles = "".join(f'<div class="kpi"><div class="label">{escape(label)}</div><div class="value">{escape(value)}'
                    f'</div><div class="sub">{escape(sub)}</div></div>' for label, value, sub in kpis)
    return (f'<header class="verdict {v.level}"><div class="head-row"><div>'
            f'<div class="kicker">Deadline-miss report</div><h1>{escape(s["app"])}</h1>'
            f'<div class="meta">{escape(" · ".join(meta))}</div></div>'
            f'<div class="pill" id="verdict">{escape(v.level.upper())} · {escape(v.headline)}'
            f"<small>{escape(v.reason)}</small></div></div>"
            f'<div class="kpis">{tiles}</div></header>')


def _card(title: str, hint: str, plot: str, *, wide: bool = False) -> str:
    return (f'<section class="card{" wide" if wide else ""}"><h2>{escape(title)}</h2><p class="hint">{escape(hint)}'
            f'</p><figure class="plot" data-plot="{plot}"></figure></section>')


def _table(header: list[str], rows: list[tuple[str, list[tuple[str, str]]]]) -> str:
    """Rows are (row class, [(cell class, text)]); every text is escaped here."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(f'<tr class="{cls}">' + "".join(f'<td class="{c}">{escape(t)}</td>' for c, t in cells) + "</tr>"
                   for cls, cells in rows)
    table = f'<table class="numbers"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f'<div class="scroll">{table}</div>'


def _numbers(report: RunReport) -> str:
    rows = []
    for name, s in report.series():
        over = s["p99_ms"] is not None and s["p99_ms"] > s["deadline_ms"]
        rows.append(("e2e" if name == END_TO_END else "", [
            ("", series_label(name)), ("", f"{s['count']:,}"), ("", f"{s['met']:,}"), ("", f"{s['degraded']:,}"),
            ("bad" if s["dropped"] else "", f"{s['dropped']:,}"), ("bad" if s["missed"] else "", f"{s['missed']:,}"),
            ("bad" if s["miss_rate"] else "", rate(s["miss_rate"])), ("", ms(s["p50_ms"])),
            ("bad" if over else "", ms(s["p99_ms"])), ("", ms(s["p999_ms"])), ("", ms(s["max_ms"])),
            ("", f"{s['deadline_ms']:g}")]))
    header = ["series", "count", "met", "degraded", "dropped", "missed", "miss rate", "p50 ms", "p99 ms",
              "p99.9 ms", "max ms", "deadline ms"]
    return f'<section class="card wide"><h2>Numbers</h2><p class="hint">The same table as report.md.</p>' \
           f"{_table(header, rows)}</section>"


def _status(count: int, noun: str, none: str) -> str:
    """The big line on top of a card that judges: how many problems were found, or that there were none."""
    if not count:
        return f'<div class="status ok">{escape(none)}</div>'
    return f'<div class="status bad">{count} {escape(noun)}{"s" if count != 1 else ""}</div>'


def _live(live: LiveReport) -> str:
    """The Live feed card: the warnings on top (an operator reads those first), then one table per group."""
    found = live.warnings
    about = "<br>".join(escape(a) for a in live.about)
    tables = "".join(f"<h3>{escape(g.title)}</h3>" + _table(
        [f.label for f in g.figures], [("", [("bad" if f.warning else "", f.value) for f in g.figures])])
        for g in live.groups)
    items = "".join(f"<li>{escape(w)}</li>" for w in found)
    return (f'<section class="card wide" id="live"><h2>Live feed</h2><p class="hint">{about}</p>'
            f"{_status(len(found), 'warning', 'No warnings')}"
            + (f'<ul class="plain">{items}</ul>' if items else "")
            + f'{tables}<p class="hint">Rule: {escape(live_rules.RULE)}.</p></section>')


def _comparison(comparison: Comparison, base: RunReport, new: RunReport) -> str:
    found = comparison.regressions
    status = _status(len(found), "regression", "No regressions")
    rows = []
    for d in comparison.rows:
        b, n = d.base or {}, d.new or {}
        rows.append(("regressed" if d.regressions else "", [
            ("", series_label(d.name)),
            ("", ms(b.get("p50_ms"))), ("", ms(n.get("p50_ms"))), ("", signed_ms(d.delta("p50_ms"), b.get("p50_ms"))),
            ("", ms(b.get("p99_ms"))), ("", ms(n.get("p99_ms"))), ("", signed_ms(d.delta("p99_ms"), b.get("p99_ms"))),
            ("", rate(b["miss_rate"]) if b else DASH), ("", rate(n["miss_rate"]) if n else DASH),
            ("", signed_pp(d.delta("miss_rate"))), ("bad" if d.regressions else "", d.result)]))
    header = ["series", "p50 base", "p50 new", "Δ p50 ms", "p99 base", "p99 new", "Δ p99 ms", "miss rate base",
              "miss rate new", "Δ miss rate", "result"]
    items = "".join(f"<li>{escape(r)}</li>" for r in found) + "".join(f"<li>{escape(n)}</li>" for n in comparison.notes)
    return (f'<section class="card wide" id="comparison"><h2>Compared with the base run</h2>'
            f'<p class="hint">base <code>{escape(str(base.path))}</code> (started {escape(base.summary["started_at"])})'
            f' → this run <code>{escape(str(new.path))}</code>. In the latency plot the base run is dashed.</p>'
            f"{status}{_table(header, rows)}"
            + (f'<ul class="plain">{items}</ul>' if items else "")
            + f'<p class="hint">Rule: {escape(rules.RULE)}.</p></section>')


def _snapshots(paths: tuple[Path, ...]) -> str:
    figures: list[str] = []
    left_out: list[str] = []
    spent = 0
    for path in paths:
        size = path.stat().st_size
        if spent + size > SNAPSHOT_BUDGET_BYTES and figures:
            left_out.append(path.name)
            continue
        spent += size
        uri = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        figures.append(f'<figure><img src="{uri}" alt="{escape(path.name)}" loading="lazy">'
                       f"<figcaption>{escape(path.name)}</figcaption></figure>")
    note = (f'<p class="hint">Not embedded (the report keeps snapshots under '
            f'{SNAPSHOT_BUDGET_BYTES // (1024 * 1024)} MB): {escape(", ".join(left_out))}</p>' if left_out else "")
    return (f'<section class="card wide"><h2>Snapshots</h2><p class="hint">Frames the app saved in the run '
            f'directory. Click one to enlarge it.</p><div class="snapshots">{"".join(figures)}</div>{note}</section>')


def page_data(html: str) -> dict[str, Any]:
    """The embedded plot data of a rendered page (what the tests and other tools read back)."""
    start = html.index('<script type="application/json" id="report-data">')
    body = html[html.index(">", start) + 1:html.index("</script>", start)]
    return json.loads(body)
