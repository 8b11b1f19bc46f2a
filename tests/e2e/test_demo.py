"""`mediagrid demo` (what `make demo` runs): every use case runs on embedded defaults and appears, with
its numbers, in the combined report."""
from __future__ import annotations

import json

import pytest

from mediagrid.demo import demo_apps

pytestmark = pytest.mark.slow


def test_demo_runs_every_use_case_into_one_report(cli, tmp_path):
    done = cli("demo", "--duration", "4", "--out", str(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    names = [app.name for app in demo_apps()]
    assert {"ad_insertion", "sports_overlay", "recsys_rerank", "live_translation"} <= set(names)
    index = (tmp_path / "index.html").read_text()
    table = (tmp_path / "report.md").read_text()
    for name in names:
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        assert summary["app"] == name and summary["end_to_end"]["count"] > 0, name
        assert f"| {name} |" in table and f"{name}/report.html" in index
        assert (tmp_path / name / "report.html").exists()
    assert "demo report:" in done.stdout and (tmp_path / "ad_insertion" / "ad_insertion.mp4").exists()
