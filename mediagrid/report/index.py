"""The combined report of several runs (what ``mediagrid demo`` leaves): one row per app with its verdict,
numbers and output files, linking to each run's own report."""
from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from mediagrid.report.formatting import ms, rate
from mediagrid.report.markdown import table
from mediagrid.report.rundir import load_run
from mediagrid.report.verdict import RULE, verdict
from mediagrid.report.writer import write_report

_HEADER = ("app", "verdict", "items", "met", "degraded", "dropped", "missed", "miss rate", "p50 ms", "p99 ms",
           "deadline ms")


def _row(summary: dict) -> list[str]:
    e2e = summary["end_to_end"]
    return [summary["app"], verdict(e2e).headline, str(e2e["count"]), str(e2e["met"]), str(e2e["degraded"]),
            str(e2e["dropped"]), str(e2e["missed"]), rate(e2e["miss_rate"]), ms(e2e["p50_ms"]), ms(e2e["p99_ms"]),
            ms(e2e["deadline_ms"])]


def write_index(out_dir: Path, run_dirs: Sequence[Path], outputs: dict[str, list[Path]]) -> tuple[Path, str]:
    """Write every run's report, then ``out_dir/index.html`` and ``out_dir/report.md``; return the index path
    and the Markdown table. ``outputs`` lists each app's useful files (videos, subtitles) to link."""
    rows, cards = [], []
    for run_dir in run_dirs:
        write_report(run_dir)
        summary = load_run(run_dir).summary
        rows.append(_row(summary))
        level = verdict(summary["end_to_end"]).level
        cells = "".join(f"<td>{html.escape(c)}</td>" for c in _row(summary))
        files = " ".join(f'<a href="{html.escape(str(p.relative_to(out_dir)))}">{html.escape(p.name)}</a>'
                         for p in outputs.get(summary["app"], []))
        link = html.escape(str((run_dir / "report.html").relative_to(out_dir)))
        cards.append(f'<tr class="{level}">{cells}<td><a href="{link}">report</a> {files}</td></tr>')
    md_table = table(_HEADER, rows)
    (out_dir / "report.md").write_text(f"# mediagrid demo\n\n{md_table}\n\nVerdict rule: {RULE}\n", encoding="utf-8")
    head = "".join(f"<th>{h}</th>" for h in (*_HEADER, "files"))
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mediagrid demo</title>
<style>body{{font:15px/1.4 system-ui,sans-serif;margin:2em;color:#1b1f24}}table{{border-collapse:collapse}}
td,th{{padding:.35em .7em;border-bottom:1px solid #ddd;text-align:right}}td:first-child,th:first-child{{text-align:left}}
tr.green td:nth-child(2){{color:#1a7f37;font-weight:600}}tr.amber td:nth-child(2){{color:#9a6700;font-weight:600}}
tr.red td:nth-child(2){{color:#cf222e;font-weight:600}}</style></head><body>
<h1>mediagrid demo</h1><p>Every item of every use case ended in one outcome; each app's report has the plots.</p>
<table><thead><tr>{head}</tr></thead><tbody>{''.join(cards)}</tbody></table>
<p><small>RunVerdict rule: {html.escape(RULE)}</small></p></body></html>
"""
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index, md_table
