"""The JSON that report.js draws from: small (binned) whatever the run length, and nothing but numbers."""
from __future__ import annotations

from typing import Any

from mediagrid.report import figures
from mediagrid.report.formatting import series_label
from mediagrid.report.run import RunReport


def payload(report: RunReport, base: RunReport | None = None) -> dict[str, Any]:
    """Plot data for one run; with ``base``, each CDF also carries the base run's curve to overlay."""
    summary = report.summary
    series = []
    for name, s in report.series():
        entry = {
            "name": name, "label": series_label(name),
            **{k: s[k] for k in ("count", "met", "degraded", "dropped", "missed", "miss_rate")},
            "p50": s["p50_ms"], "p99": s["p99_ms"], "p999": s["p999_ms"], "max": s["max_ms"],
            "deadline": s["deadline_ms"],
            "cdf": figures.cdf(report.events.latencies(name)) if report.events is not None else None,
            "base_cdf": None,
        }
        if base is not None and base.events is not None:
            entry["base_cdf"] = figures.cdf(base.events.latencies(name))
        series.append(entry)
    return {
        "deadline_ms": summary["end_to_end"]["deadline_ms"],
        "series": series,
        "timeline": figures.timeline(report.events, summary["duration_s"]) if report.events is not None else None,
        "kafka": summary["kafka"],
        "compare": {"base": str(base.path)} if base is not None else None,
    }
