"""The child-process lifecycle shared by the broker and Triton launchers, driven with small shell scripts."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mediagrid.errors import BrokerError, ChildProcessFailed
from mediagrid.runtime.process import ChildProcess


def alive(pid: int) -> bool:
    """A killed grandchild may linger as a zombie until init reaps it: that counts as gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def shell(tmp_path: Path, script: str, ready: bool = True, **kwargs) -> ChildProcess:
    return ChildProcess("test child", ["sh", "-c", script], ready=lambda: ready, log_path=tmp_path / "child.log",
                        cwd=tmp_path, **kwargs)


def test_context_manager_starts_once_ready_and_stops_the_whole_group(tmp_path: Path) -> None:
    child = shell(tmp_path, "echo started; sleep 60 & echo $! > grandchild.tmp; mv grandchild.tmp grandchild; wait")
    child.ready = (tmp_path / "grandchild").exists
    with child:
        pid = child.pid
        assert pid is not None and child.is_running()
        child.ensure_running()
    assert not child.is_running() and child.pid is None and not alive(pid)
    grandchild = int((tmp_path / "grandchild").read_text())
    assert not alive(grandchild)  # killpg: the child's own children go too
    assert (tmp_path / "child.log").read_text() == "started\n"


def test_early_exit_names_the_program_and_shows_the_log_tail(tmp_path: Path) -> None:
    child = shell(tmp_path, "echo 'config exploded' >&2; exit 3", ready=False)
    with pytest.raises(ChildProcessFailed, match=r"(?s)test child exited with code 3 before it was ready.*exploded"):
        child.start(timeout_s=10)
    assert not child.is_running()


def test_readiness_timeout_stops_the_child_and_raises_the_callers_error(tmp_path: Path) -> None:
    child = shell(tmp_path, "exec sleep 60", ready=False, error=BrokerError)
    with pytest.raises(BrokerError, match=r"test child was not ready after 0\.3 s \(its log is empty\)"):
        child.start(timeout_s=0.3)
    assert not child.is_running()


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    child = shell(tmp_path, "trap '' TERM; echo trapped; while :; do sleep 0.05; done", env={"PATH": os.defpath})
    child.ready = lambda: (tmp_path / "child.log").read_text() == "trapped\n"
    child.start(timeout_s=10)
    pid = child.pid
    assert pid is not None
    child.stop(grace_s=0.2)
    child.stop()
    assert not alive(pid)


def test_unrunnable_command_and_death_after_start_are_reported(tmp_path: Path) -> None:
    missing = ChildProcess("ghost", [str(tmp_path / "nope")], ready=lambda: True, log_path=tmp_path / "log")
    with pytest.raises(ChildProcessFailed, match=r"cannot run ghost .*No such file"):
        missing.start()
    with pytest.raises(ChildProcessFailed, match="ghost is not running"):
        missing.ensure_running()
    child = shell(tmp_path, "sleep 0.2; echo bye; exit 4").start()
    child._proc.wait(timeout=10)  # type: ignore[union-attr]
    with pytest.raises(ChildProcessFailed, match=r"(?s)exited unexpectedly with code 4.*bye"):
        child.ensure_running()
    child.stop()


def test_normal_interpreter_exit_stops_a_child_left_running(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        from pathlib import Path
        from mediagrid.runtime.process import ChildProcess
        child = ChildProcess("orphan", ["sleep", "60"], ready=lambda: True, log_path=Path({str(tmp_path / 'log')!r}))
        print(child.start().pid)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert not alive(int(done.stdout.strip()))
