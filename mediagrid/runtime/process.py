"""Owning a long-running child process (a broker, an inference server) from start to a clean stop.

Such a child must not write over the CLI's terminal, must not get the terminal's Ctrl-C before Python has
decided to stop it, must not be waited on after it has died, must report *why* it failed (its own log
says, not an exit code), and must not outlive a normal interpreter exit. Launchers differ only in their
command and readiness check, so all of that lives here once.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from mediagrid.errors import ChildProcessFailed

LOG_TAIL_LINES = 25
_POLL_S = 0.1
_KILL_WAIT_S = 5.0

_at_exit: set[Callable[[], object]] = set()
_at_exit_lock = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a currently unused TCP port (racy by nature: bind it soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Last lines of a log file, for error messages; empty when the file does not exist."""
    try:
        with path.open("r", errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines)).rstrip()
    except FileNotFoundError:
        return ""


def stop_at_exit(stop: Callable[[], object]) -> None:
    """Have ``stop`` called at a normal interpreter exit, for owners with more to clean up than the child
    (a working folder, say); children run in their own process group, so nothing else stops them."""
    with _at_exit_lock:
        _at_exit.add(stop)


def forget_at_exit(stop: Callable[[], object]) -> None:
    """Undo :func:`stop_at_exit` once ``stop`` has run (a bound method compares equal to itself)."""
    with _at_exit_lock:
        _at_exit.discard(stop)


@atexit.register
def _stop_all() -> None:
    with _at_exit_lock:
        stops = list(_at_exit)
    for stop in stops:
        stop()


class ChildProcess:
    """One run of ``command`` in its own process group, logging to ``log_path``.

    ``name`` is how error messages call it (``"tansu broker on 127.0.0.1:9092"``); every failure raises
    ``error`` so that callers keep their own exception class. ``ready`` is polled after each check that the
    process is still alive, so a child that died is reported at once and a foreign listener on its port
    cannot pass for it.
    """

    def __init__(self, name: str, command: Sequence[str], *, ready: Callable[[], bool], log_path: Path,
                 cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 error: type[ChildProcessFailed] = ChildProcessFailed) -> None:
        self.name = name
        self.command = list(command)
        self.ready = ready
        self.log_path = log_path
        self.cwd = cwd
        self.env = env
        self.error = error
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process's id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self._proc is not None and self.is_running() else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 60.0) -> ChildProcess:
        """Spawn the process and return once ``ready()`` holds; on any failure the process is stopped."""
        if self.is_running():
            return self
        self._spawn()
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self) -> None:
        with self.log_path.open("ab") as log:
            try:
                self._proc = subprocess.Popen(
                    self.command, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT,
                    # Own session: a terminal's Ctrl-C reaches only Python, which then stops the child in
                    # order (foreground services, fixtures, atexit); killpg reaches the whole group.
                    start_new_session=True,
                )
            except OSError as exc:
                raise self.error(f"cannot run {self.name} ({self.command[0]!r}): {exc.strerror}") from exc
        stop_at_exit(self.stop)

    def _wait_ready(self, timeout_s: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise self.error(self._failure(f"exited with code {code} before it was ready"))
            if self.ready():
                return
            time.sleep(_POLL_S)
        raise self.error(self._failure(f"was not ready after {timeout_s:g} s"))

    def ensure_running(self) -> None:
        """Raise ``error``, with the log's last lines, when the process has died (or was never started)."""
        if self._proc is None:
            raise self.error(f"{self.name} is not running")
        code = self._proc.poll()
        if code is not None:
            raise self.error(self._failure(f"exited unexpectedly with code {code}"))

    def _failure(self, what: str) -> str:
        lines = tail(self.log_path)
        detail = f"\n--- last lines of {self.log_path} ---\n{lines}" if lines else " (its log is empty)"
        return f"{self.name} {what}{detail}"

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM to the whole process group, SIGKILL after ``grace_s``; safe to call any number of times."""
        proc, self._proc = self._proc, None
        if proc is not None:
            self._terminate(proc, grace_s)
        forget_at_exit(self.stop)

    def _terminate(self, proc: subprocess.Popen[bytes], grace_s: float) -> None:
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, _KILL_WAIT_S)):
            with contextlib.suppress(ProcessLookupError):  # the whole group is already gone
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue
        raise self.error(f"{self.name} (process {proc.pid}) did not exit even after SIGKILL")

    def __enter__(self) -> ChildProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ChildProcess {self.name} {'running' if self.is_running() else 'stopped'}>"
