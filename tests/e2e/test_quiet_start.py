"""A CPU-only node starts quietly: one line from mediagrid saying it runs on CPU, none of Holoscan's CUDA noise,
and every other line on stderr (Holoscan's other warnings included) still there, in order."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mediagrid.runtime import gpu_available
from mediagrid.runtime.quiet_cuda import CPU_NOTICE
from tests.conftest import REPO

CONFIG = "configs/passthrough.yaml"
INSUFFICIENT = "CUDA driver version is insufficient"


def _run_cli(tmp_path: Path, stderr_to: str) -> tuple[int, str]:
    """``mediagrid run`` at Holoscan's default log level (the test suite's ERROR would hide the noise anyway)."""
    env = {**os.environ, "HOLOSCAN_LOG_LEVEL": "WARN"}
    args = [sys.executable, "-m", "mediagrid.cli", "run", CONFIG, "--duration", "1", "--out", str(tmp_path / "run"),
            "--no-progress", "--set", "source.fps=30"]
    if stderr_to == "pipe":
        done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
        return done.returncode, done.stderr
    with open(tmp_path / "stderr.txt", "w") as log:
        code = subprocess.run(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log, timeout=120,
                              check=False).returncode
    return code, (tmp_path / "stderr.txt").read_text()


@pytest.mark.skipif(gpu_available(), reason="this machine has a GPU: Holoscan has no CUDA warnings to hold back")
@pytest.mark.parametrize("stderr_to", ["pipe", "file"])
def test_cpu_only_start_says_cpu_once_and_no_cuda_warnings(tmp_path, stderr_to):
    code, stderr = _run_cli(tmp_path, stderr_to)
    assert code == 0, stderr
    assert INSUFFICIENT not in stderr, stderr
    assert "with support for CPU data only" not in stderr, stderr
    assert stderr.count(CPU_NOTICE) == 1, stderr


FILTER_SCRIPT = textwrap.dedent("""
    import os, subprocess, sys, time
    from mediagrid.runtime.quiet_cuda import CPU_ONLY_MARKER, StderrFilter

    NOISE = "CUDA driver version is insufficient for CUDA runtime version"
    quiet = StderrFilter([NOISE.encode(), CPU_ONLY_MARKER], quiet_after_s=float(sys.argv[2])).install()
    w = lambda text: os.write(2, text.encode())
    w("first\\n")
    w(f"[warning] [gxf_cuda.cpp:33] CUDA Runtime call cudaGetDeviceCount(&gpu_count) failed with '{NOISE}' (35).\\n")
    w("[warning] [gxf_cuda.cpp:33] Initializing CudaObjectHandler with support for CPU data only\\n")
    w("[warning] [fragment.cpp:7] another Holoscan warning\\n")
    sys.stderr.write("a Python line\\n")
    w("[warn"); time.sleep(0.05); w(f"ing] [x.cpp:1] split across writes, {NOISE}\\n")
    w("[warn"); time.sleep(0.05); w("ing] [x.cpp:2] split and kept\\n")
    subprocess.run(["sh", "-c", "echo from a child >&2"], check=True)
    w("[warning] [event_based_scheduler.cpp:154] GPU not available for Driver APIs, error_str: " + NOISE + "\\n")
    w("\\rprogress 1")
    time.sleep(0.5)
    if sys.argv[1] != "-":  # stderr is that file: the partial line is there already, not held for its end
        print("partial shown:", open(sys.argv[1], "rb").read().endswith(b"\\rprogress 1"))
    w("\\n")
    time.sleep(1.0)
    print("retired:", not quiet._owns_fd2())
    w("after\\n")
    raise SystemExit("last words")
""")

EXPECTED = (b"first\n[warning] [fragment.cpp:7] another Holoscan warning\na Python line\n"
            b"[warning] [x.cpp:2] split and kept\nfrom a child\n\rprogress 1\nafter\nlast words\n")


@pytest.mark.parametrize("stderr_to", ["pipe", "file"])
def test_filter_holds_back_only_the_cuda_lines_in_order(tmp_path, stderr_to):
    """The filter itself, with fake Holoscan lines: works on a pipe and on a file, forwards partial lines at
    once, children's lines too, retires after its quiet period, and loses nothing written at exit."""
    script = tmp_path / "filter.py"
    script.write_text(FILTER_SCRIPT)
    if stderr_to == "pipe":
        done = subprocess.run([sys.executable, str(script), "-", "0.3"], cwd=REPO, capture_output=True, timeout=60,
                              check=False)
        stderr = done.stderr
    else:
        err = tmp_path / "stderr.txt"
        with open(err, "wb") as log:
            done = subprocess.run([sys.executable, str(script), str(err), "0.3"], cwd=REPO, stdout=subprocess.PIPE,
                                  stderr=log, timeout=60, check=False)
        stderr = err.read_bytes()
        assert b"partial shown: True" in done.stdout
    assert done.returncode == 1
    assert stderr == EXPECTED
    assert b"retired: True" in done.stdout


def test_filter_without_quiet_period_ends_at_exit_and_keeps_order(tmp_path):
    """Never retired by time (quiet period of an hour): exit still forwards everything and does not hang."""
    script = tmp_path / "filter.py"
    script.write_text(FILTER_SCRIPT.replace('print("retired:"', 'print("retired?"'))
    done = subprocess.run([sys.executable, str(script), "-", "3600"], cwd=REPO, capture_output=True, timeout=30,
                          check=False)
    assert done.returncode == 1
    assert done.stderr == EXPECTED
