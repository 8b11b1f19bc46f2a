"""One local broker: its loopback address, working directory, readiness on the Kafka wire, and restart.

Engines differ only in how they prepare a working directory and which command they run; owning the child
process itself is :class:`~mediagrid.runtime.process.ChildProcess`'s job.
"""
from __future__ import annotations

import errno
import ipaddress
import shutil
import socket
import tempfile
from pathlib import Path
from types import TracebackType

from mediagrid.errors import BrokerError, UsageError
from mediagrid.kafka.wire import answers_kafka
from mediagrid.runtime import process
from mediagrid.runtime.process import ChildProcess, forget_at_exit, stop_at_exit

LOG_NAME = "broker.log"


def free_port(host: str = "127.0.0.1") -> int:
    """A currently unused TCP port on a loopback ``host`` (racy by nature: bind it soon)."""
    return process.free_port(_loopback(host))


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


class Broker:
    """A Kafka-compatible broker running as a child process on a loopback port.

    Subclasses set ``engine`` and implement ``_command`` (and ``_prepare`` when the working directory
    needs files before the first start).
    """

    engine: str = ""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = _loopback(host)
        self.port = port if port is not None else free_port(host)
        self._child: ChildProcess | None = None
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
        return self._child.pid if self._child is not None else None

    @property
    def log_path(self) -> Path | None:
        return self._workdir / LOG_NAME if self._workdir else None

    def _command(self, workdir: Path) -> list[str]:
        raise NotImplementedError

    def _prepare(self, workdir: Path) -> None:
        """Write config and initialise storage; called before every start, so it must be idempotent."""

    def is_running(self) -> bool:
        return self._child is not None and self._child.is_running()

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
            stop_at_exit(self.stop)  # the working directory, too, must not outlive the interpreter
        try:
            self._prepare(self._workdir)
            self._child = ChildProcess(
                f"{self.engine} broker on {self.bootstrap}", self._command(self._workdir),
                ready=lambda: answers_kafka(self.host, self.port, timeout_s=1.0),
                log_path=self._workdir / LOG_NAME, cwd=self._workdir, error=BrokerError,
            )
            self._child.start(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def ensure_running(self) -> None:
        """Raise BrokerError, with the log's last lines, when the process has died (or never started)."""
        if self._child is None:
            raise BrokerError(f"{self.engine} broker on {self.bootstrap} is not started")
        self._child.ensure_running()

    def stop(self, timeout_s: float = 15.0, keep_data: bool = False) -> None:
        """Stop the process (SIGTERM, then SIGKILL after timeout_s); safe to call any number of times.

        keep_data=True keeps the working directory so that ``restart`` finds its data again.
        """
        child, self._child = self._child, None
        if child is not None:
            child.stop(timeout_s)
        if not keep_data and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
            forget_at_exit(self.stop)

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
