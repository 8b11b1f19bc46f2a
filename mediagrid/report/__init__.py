"""Deadline-miss reports of run directories: ``report.html`` (plots), ``report.md`` (tables), comparisons.

Built only from what a run left behind (``summary.json``, ``events.jsonl``, snapshot ``*.png``), so a
report can be rebuilt long after the process is gone. One module per job: ``rundir`` opens and validates,
``events`` streams items into columns, ``figures`` reduces them for plots, ``verdict`` and ``compare`` hold
the rules, ``live`` reads and flags a live run's feed and outputs, ``markdown`` and ``page`` render, ``writer`` writes.
"""
from mediagrid.report.errors import RunDirectoryError
from mediagrid.report.writer import compare_runs, write_report

__all__ = ["RunDirectoryError", "compare_runs", "write_report"]
