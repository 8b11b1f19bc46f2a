"""Ctrl-C or SIGTERM on a graph that takes a while to drain: the run still ends cleanly (Holoscan's own
handlers would force the process out 3 s after the signal, before any summary), and a second Ctrl-C stops
it at once."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

# A graph whose one operator needs DRAIN_S to finish what it holds once a stop is requested.
SCRIPT = """
import time
from mediagrid.metrics import OutcomeRecorder
from mediagrid.runner import _wait
from mediagrid.runtime import select_backend
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.run_context import RunContext
from mediagrid.runtime.control import RunControl

import_holoscan()
from holoscan.conditions import CountCondition
from holoscan.core import Application, Operator

DRAIN_S = 5.0


class Draining(Operator):
    def __init__(self, fragment, *args, control, **kwargs):
        self.control = control
        self.started = False
        self.stop_seen = None
        super().__init__(fragment, *args, **kwargs)

    def compute(self, op_input, op_output, context):
        if not self.started:
            self.started = True
            print("running", flush=True)
        if self.control.stop_requested.is_set():
            if self.stop_seen is None:
                self.stop_seen = time.monotonic()
            elif time.monotonic() - self.stop_seen >= DRAIN_S:
                print("drained", flush=True)
                self.stop_execution()
                return
        time.sleep(0.2)


class App(Application):
    def __init__(self, control):
        self.control = control
        super().__init__()

    def compose(self):
        self.add_operator(Draining(self, CountCondition(self, 100_000), control=self.control, name="draining"))


ctx = RunContext(backend=select_backend("cpu"), recorder=OutcomeRecorder(10.0), control=RunControl())
_wait(App(ctx.control), ctx, None, False)
print(f"clean end, stopped_by={ctx.control.stopped_by}", flush=True)
"""


def _start() -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=REPO, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "running"
    time.sleep(0.5)  # the executor has installed its signal handlers by now
    return proc


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_graph_that_drains_for_longer_than_holoscan_allows_still_ends_cleanly(signum: int) -> None:
    proc = _start()
    interrupted = time.monotonic()
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "drained" in stdout and "clean end, stopped_by=interrupt" in stdout, (stdout, stderr)
    assert time.monotonic() - interrupted >= 4.5  # it drained, it was not cut short
    assert "Forcing exit" not in stderr and "interrupt again to stop at once" in stderr


def test_a_second_interrupt_stops_the_graph_at_once() -> None:
    proc = _start()
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "drained" not in stdout and "clean end, stopped_by=interrupt" in stdout, (stdout, stderr)
    assert time.monotonic() - interrupted < 4.0
