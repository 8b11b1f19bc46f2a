"""GPU paths, run by perf/gpu_check.sh on a GPU machine; skipped (with the reason) everywhere else."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mediagrid.runtime import gpu_available, select_backend

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not gpu_available(), reason="no usable CUDA device")]


def test_gpu_backend_is_cupy():
    backend = select_backend("gpu")
    assert backend.device == "gpu" and backend.xp.__name__ == "cupy"
    data = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    assert np.array_equal(backend.to_host(backend.asarray(data)), data)


def test_passthrough_runs_on_the_gpu(cli, tmp_path):
    done = cli("run", "configs/passthrough.yaml", "--frames", "120", "--device", "gpu", "--out", str(tmp_path),
               "--no-progress")
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["device"] == "gpu" and summary["end_to_end"]["count"] == 120
