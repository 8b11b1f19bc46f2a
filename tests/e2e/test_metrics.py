"""`curl` on the metrics port during a run returns the outcome counters and latency histograms."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

from mediagrid.kafka import free_port
from tests.conftest import REPO


def _scrape(port: int) -> str:
    done = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/metrics"], capture_output=True, text=True,
                          timeout=10)
    return done.stdout if done.returncode == 0 else ""


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_metrics_port_serves_counters_during_a_run(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mediagrid.cli", "run", "configs/passthrough.yaml", "--duration",
                             "60", "--out", str(tmp_path), "--no-progress", "--metrics-port", str(port)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        text, deadline = "", time.monotonic() + 60
        while time.monotonic() < deadline and 'stage="end_to_end"' not in text:
            time.sleep(0.5)
            text = _scrape(port)
        first = text
        time.sleep(1.0)
        second = _scrape(port)
    finally:
        proc.terminate()  # SIGTERM: a clean stop, like Ctrl-C
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert 'mediagrid_items_total{app="passthrough",node="edge-local-1",outcome="met",stage="end_to_end"}' in first
    assert 'mediagrid_latency_ms_bucket{app="passthrough",le="+Inf",node="edge-local-1",stage="process"}' in first

    def total(text: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("mediagrid_items_total") and 'stage="end_to_end"' in line)

    assert total(second) > total(first) > 0  # live: the counters move while the run goes on
    assert (tmp_path / "summary.json").exists()
