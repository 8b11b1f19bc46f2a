"""Per-item latency and outcome recording, percentiles and the run summary."""
from mediagrid.metrics.recorder import END_TO_END, OutcomeRecorder, Series
from mediagrid.metrics.summary import build_summary, summarize_series, write_summary

__all__ = ["END_TO_END", "OutcomeRecorder", "Series", "build_summary", "summarize_series", "write_summary"]
