"""Lifecycle of one local broker process: start, readiness, stop, restart, cleanup at exit.

Engines differ only in how they prepare a working directory and which command they run; everything
about owning a child process (its own process group, a log file instead of the terminal, a bounded
readiness wait, SIGTERM-then-SIGKILL, no orphans after a normal interpreter exit) lives here once.
"""
from __future__ import annotations

import atexit
import contextlib
import errno
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from types import TracebackType

from mediagrid.errors import BrokerError, UsageError
from mediagrid.kafka.wire import answers_kafka

LOG_TAIL_LINES = 25
_POLL_S = 0.1

_live: set[Broker] = set()
_live_lock = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a currently unused TCP port (racy by nature: bind it soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_loopback(host), 0))
        return int(sock.getsockname()[1])


def _loopback(host: str) -> str:
    """Refuse anything but an IPv4 loopback address: these brokers have no authentication."""
    try:
        loopback = ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(f"broker host must be an IPv4 loopback address such as 127.0.0.1, not {host!r}")
    return host


def _port_in_use(host: str, port: int) -> bool:
    # SO_REUSEADDR mirrors what the brokers do, so sockets lingering in TIME_WAIT after a restart
    # do not count as "in use"; only a listener or a bound socket does.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Last lines of a log file, for error messages; empty when the file does not exist."""
    try:
        with path.open("r", errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines)).rstrip()
    except FileNotFoundError:
        return ""


@atexit.register
def _stop_all() -> None:
    """Brokers run in their own process group, so nothing else stops them when Python exits."""
    with _live_lock:
        brokers = list(_live)
    for broker in brokers:
        broker.stop()


class Broker:
    """A Kafka-compatible broker running as a child process on a loopback port.

    Subclasses set ``engine`` and implement ``_command`` (and ``_prepare`` when the working directory
    needs files before the first start).
    """

    engine: str = ""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = _loopback(host)
        self.port = port if port is not None else free_port(host)
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def workdir(self) -> Path | None:
        """Temporary directory holding the log (and data) while the broker is started."""
        return self._workdir

    @property
    def pid(self) -> int | None:
        """The broker process's id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self.is_running() else None

    @property
    def log_path(self) -> Path | None:
        return self._workdir / "broker.log" if self._workdir else None

    def _command(self, workdir: Path) -> list[str]:
        raise NotImplementedError

    def _prepare(self, workdir: Path) -> None:
        """Write config and initialise storage; called before every start, so it must be idempotent."""

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 60.0) -> Broker:
        """Start the process and return once a Kafka client would get metadata naming this broker."""
        if self.is_running():
            return self
        if _port_in_use(self.host, self.port):
            raise BrokerError(
                f"cannot start {self.engine} broker: port {self.port} on {self.host} is already in use "
                f"(another broker still running? pick another --port)"
            )
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix=f"mediagrid-{self.engine}-"))
        try:
            self._prepare(self._workdir)
            self._spawn(self._workdir)
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, workdir: Path) -> None:
        command = self._command(workdir)
        assert self.log_path is not None
        with self.log_path.open("ab") as log:
            try:
                self._proc = subprocess.Popen(
                    command,
                    cwd=workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    # Own session: a terminal's Ctrl-C reaches only Python, which then stops the broker
                    # in order (serve_foreground, fixtures, atexit); killpg reaches the whole group.
                    start_new_session=True,
                )
            except OSError as exc:
                raise BrokerError(f"cannot run {self.engine} broker {command[0]!r}: {exc.strerror}") from exc
        with _live_lock:
            _live.add(self)

    def _wait_ready(self, timeout_s: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise BrokerError(self._failure(f"exited with code {code} before it was ready"))
            # Exit is checked first: a broker that died (e.g. lost a race for the port) must not be
            # waited on until the deadline, nor let a foreign listener on the port pass for it.
            if answers_kafka(self.host, self.port, timeout_s=1.0):
                return
            time.sleep(_POLL_S)
        raise BrokerError(self._failure(f"was not ready after {timeout_s:g} s"))

    def ensure_running(self) -> None:
        """Raise BrokerError, with the log's last lines, when the process has died (or never started)."""
        if self._proc is None:
            raise BrokerError(f"{self.engine} broker on {self.bootstrap} is not started")
        code = self._proc.poll()
        if code is not None:
            raise BrokerError(self._failure(f"exited unexpectedly with code {code}"))

    def _failure(self, what: str) -> str:
        log = self.log_path
        lines = tail(log) if log else ""
        detail = f"\n--- last lines of {log} ---\n{lines}" if lines else " (its log is empty)"
        return f"{self.engine} broker on {self.bootstrap} {what}{detail}"

    def stop(self, timeout_s: float = 15.0, keep_data: bool = False) -> None:
        """Stop the process (SIGTERM, then SIGKILL after timeout_s); safe to call any number of times.

        keep_data=True keeps the working directory so that ``restart`` finds its data again.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            _terminate(proc, timeout_s)
        with _live_lock:
            _live.discard(self)
        if not keep_data and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def restart(self, timeout_s: float = 60.0) -> Broker:
        """Stop and start again on the same port with the same working directory (data survives
        for engines with on-disk storage)."""
        self.stop(keep_data=True)
        return self.start(timeout_s)

    def __enter__(self) -> Broker:
        return self if self.is_running() else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<{type(self).__name__} {self.bootstrap} {state}>"


def _terminate(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        raise BrokerError(f"broker process {proc.pid} did not exit even after SIGKILL")
