"""Writing the report files: one run, or a comparison of two.

A comparison is written into the NEW run's directory as its ``report.html`` / ``report.md`` (the new run's
full report with the deltas against the base on top), because the new run is the one under review; the
base directory is only read. Files are replaced atomically so a viewer never opens half a page.
"""
from __future__ import annotations

from pathlib import Path

from mediagrid.report import markdown, page
from mediagrid.report.compare import compare_summaries
from mediagrid.report.run import analyse

HTML = "report.html"
MARKDOWN = "report.md"


def write_report(run_dir: Path) -> tuple[Path, Path, str]:
    """Write ``run_dir/report.html`` and ``run_dir/report.md``; return both paths and the Markdown table of
    end-to-end and per-stage numbers (what ``mediagrid report DIR`` prints)."""
    report = analyse(Path(run_dir))
    html_path = _write(report.path / HTML, page.render(report))
    md_path = _write(report.path / MARKDOWN, markdown.run_markdown(report))
    return html_path, md_path, markdown.series_table(report)


def compare_runs(base: Path, new: Path) -> tuple[Path, Path, str, list[str]]:
    """Compare ``new`` against ``base`` and write the comparison report into ``new``; return both paths,
    the text to print (delta table, regressions, rule) and the regressions (empty when there are none)."""
    base_report, new_report = analyse(Path(base)), analyse(Path(new))
    comparison = compare_summaries(base_report.summary, new_report.summary, new_report.stage_order)
    html_path = _write(new_report.path / HTML, page.render(new_report, comparison, base_report))
    md_path = _write(new_report.path / MARKDOWN, markdown.comparison_markdown(comparison, base_report, new_report))
    return html_path, md_path, markdown.comparison_text(comparison), comparison.regressions


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
