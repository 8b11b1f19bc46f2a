"""Triton Inference Server: the standalone server launcher and the gRPC client mediagrid encodes with.

The server is the ``tritonserver`` binary shipped inside the nvidia-pytriton wheel, run as a plain child
process (not through PyTriton's Python API) from a venv of its own, made by ``tools/triton/setup-venv.sh``
(``.cache/triton-venv``, or ``$MEDIAGRID_TRITON_VENV``). mediagrid itself only speaks gRPC through
``tritonclient``. Two pitfalls from research/triton-faiss-video-on-cpu.md are handled here:

* the python-backend stub links ``libpython3.X.so``; the loader must find the one of the venv's own base
  interpreter first (else model init fails with ``'_thread.RLock' object has no attribute
  '_recursion_count'``), so ``LD_LIBRARY_PATH`` starts with that interpreter's ``lib``;
* the stub picks its Python environment from the first ``python3`` on ``PATH``, which must be the Triton
  venv's (numpy < 2): with numpy 2 every response silently has 0 bytes. :class:`TritonEncoder` turns such
  a response into a clear error instead of a reshape traceback.

Ports are free loopback ports picked at start (gRPC, HTTP, metrics); :meth:`TritonServer.start` returns
once the server and every model it loads report ready.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import numpy as np

from mediagrid.errors import MediagridError
from mediagrid.kafka.broker_process import free_port, tail
from mediagrid.services.encoder import MODEL_NAME, EncoderUnavailable

#: Where tools/triton/setup-venv.sh puts the server's venv, relative to the repository root (the CWD).
DEFAULT_VENV = Path(".cache/triton-venv")
VENV_ENV = "MEDIAGRID_TRITON_VENV"
SETUP_HINT = "run `bash tools/triton/setup-venv.sh` (make triton-venv) to create it"
_POLL_S = 0.1
_START_TRIES = 3  # free ports are racy: a lost race shows up as a bind error, so try fresh ports

_live: set[TritonServer] = set()
_live_lock = threading.Lock()


class TritonError(MediagridError):
    """The Triton server cannot be found, started or reached."""


@atexit.register
def _stop_all() -> None:
    """The server runs in its own process group, so nothing else stops it when Python exits."""
    with _live_lock:
        servers = list(_live)
    for server in servers:
        server.stop()


def triton_venv(venv: Path | str | None = None) -> Path:
    """The Triton venv to use: the argument, else ``$MEDIAGRID_TRITON_VENV``, else ``.cache/triton-venv``."""
    return Path(venv or os.environ.get(VENV_ENV) or DEFAULT_VENV)


def server_dir(venv: Path) -> Path:
    """The ``pytriton/tritonserver`` folder inside ``venv``; :class:`TritonError` when it is not usable."""
    found = sorted(venv.glob("lib/python3.*/site-packages/pytriton/tritonserver"))
    if not found:
        raise TritonError(f"no Triton server in {venv} (nvidia-pytriton not installed there); {SETUP_HINT}")
    root = found[-1]
    if not (root / "backends/python/triton_python_backend_stub").is_file():
        raise TritonError(f"the python backend stub is missing in {root}/backends/python; {SETUP_HINT}")
    return root


def _base_prefix(venv: Path) -> Path:
    """The prefix of the interpreter ``venv`` was made from (its ``pyvenv.cfg`` ``home`` is ``<prefix>/bin``)."""
    cfg = venv / "pyvenv.cfg"
    match = re.search(r"^home\s*=\s*(.+)$", cfg.read_text(), re.MULTILINE) if cfg.is_file() else None
    if match is None:
        raise TritonError(f"{venv} is not a Python venv (no home in {cfg}); {SETUP_HINT}")
    return Path(match.group(1).strip()).parent


def server_environment(venv: Path, root: Path) -> dict[str, str]:
    """The environment the server and its python-backend stubs need (see the module docstring)."""
    env = dict(os.environ)
    libs = [str(_base_prefix(venv) / "lib"), str(root.parents[1] / "nvidia_pytriton.libs")]
    env["LD_LIBRARY_PATH"] = os.pathsep.join(libs + [p for p in [env.get("LD_LIBRARY_PATH")] if p])
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = "1"  # small matmuls: threads only spin
    env.pop("PYTHONPATH", None)  # mediagrid's own paths would shadow the venv's numpy 1.x
    env.pop("PYTHONHOME", None)
    return env


class TritonServer:
    """One ``tritonserver`` child process serving ``models`` from ``repository`` on loopback ports."""

    def __init__(self, repository: Path | str, *, models: Sequence[str] = (MODEL_NAME,),
                 venv: Path | str | None = None, host: str = "127.0.0.1") -> None:
        self.repository = Path(repository).resolve()
        self.models = tuple(models)
        self.venv = triton_venv(venv).absolute()
        self.host = host
        self.grpc_port = self.http_port = self.metrics_port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def log_path(self) -> Path | None:
        return self._workdir / "tritonserver.log" if self._workdir else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 60.0) -> TritonServer:
        """Start the server; return once it and every model are ready. Raises :class:`TritonError`."""
        if self.is_running():
            return self
        root = server_dir(self.venv)
        if not (self.repository / self.models[0] / "config.pbtxt").is_file():
            raise TritonError(f"model repository {self.repository} has no {self.models[0]}/config.pbtxt")
        env = server_environment(self.venv, root)
        self._workdir = Path(tempfile.mkdtemp(prefix="mediagrid-triton-"))
        for attempt in range(1, _START_TRIES + 1):
            self.grpc_port, self.http_port, self.metrics_port = (free_port(self.host) for _ in range(3))
            self._spawn(root, env)
            try:
                self._wait_ready(timeout_s)
                return self
            except TritonError:
                lost_port_race = "already in use" in tail(self.log_path)
                self._terminate()
                if not lost_port_race or attempt == _START_TRIES:
                    self.stop()
                    raise
        raise AssertionError("unreachable")

    def _spawn(self, root: Path, env: dict[str, str]) -> None:
        command = [
            str(root / "bin/tritonserver"), f"--model-repository={self.repository}",
            f"--backend-directory={root / 'backends'}", f"--cache-directory={root / 'caches'}",
            f"--grpc-address={self.host}", f"--http-address={self.host}",
            f"--grpc-port={self.grpc_port}", f"--http-port={self.http_port}", f"--metrics-port={self.metrics_port}",
            "--model-control-mode=explicit", *(f"--load-model={m}" for m in self.models),
            "--pinned-memory-pool-byte-size=0", "--exit-timeout-secs=5", "--log-verbose=0",
        ]
        assert self.log_path is not None
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(command, cwd=self._workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        with _live_lock:
            _live.add(self)

    def _wait_ready(self, timeout_s: float) -> None:
        import tritonclient.grpc as grpcclient  # noqa: PLC0415 - grpc is slow to import; only servers need it
        from tritonclient.utils import InferenceServerException  # noqa: PLC0415

        assert self._proc is not None
        client = grpcclient.InferenceServerClient(self.grpc_url)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                code = self._proc.poll()
                if code is not None:
                    raise TritonError(self._failure(f"exited with code {code} before it was ready"))
                with contextlib.suppress(InferenceServerException):
                    if client.is_server_ready(client_timeout=1.0) and all(
                            client.is_model_ready(m, client_timeout=1.0) for m in self.models):
                        return
                time.sleep(_POLL_S)
        finally:
            client.close()
        raise TritonError(self._failure(f"was not ready after {timeout_s:g} s"))

    def _failure(self, what: str) -> str:
        lines = tail(self.log_path) if self.log_path else ""
        detail = f"\n--- last lines of {self.log_path} ---\n{lines}" if lines else " (its log is empty)"
        return f"tritonserver on {self.grpc_url} {what}{detail}"

    def _terminate(self, timeout_s: float = 10.0) -> None:
        """SIGTERM to the whole process group (server and python stubs), SIGKILL if it lingers."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop(self) -> None:
        """Stop the server and remove its working folder; safe to call any number of times."""
        self._terminate()
        with _live_lock:
            _live.discard(self)
        if self._workdir is not None:
            for path in self._workdir.iterdir():
                path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self._workdir.rmdir()
            self._workdir = None

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<TritonServer {self.grpc_url} {'running' if self.is_running() else 'stopped'}>"


class TritonEncoder:
    """The query encoder on a Triton server, over gRPC. Every failure (server gone, timeout, an empty
    answer) raises :class:`EncoderUnavailable`, which :class:`~mediagrid.services.encoder.FallbackEncoder`
    turns into a counted fallback."""

    name = "triton"

    def __init__(self, url: str, *, model: str = MODEL_NAME, timeout_s: float = 0.05) -> None:
        import tritonclient.grpc as grpcclient  # noqa: PLC0415

        self.url = url
        self.model = model
        self.timeout_s = timeout_s
        self._grpc = grpcclient
        self._client = grpcclient.InferenceServerClient(url)

    def encode(self, features: np.ndarray) -> np.ndarray:
        from tritonclient.utils import InferenceServerException  # noqa: PLC0415

        features = np.ascontiguousarray(features, dtype=np.float32)
        tensor = self._grpc.InferInput("FEATURES", list(features.shape), "FP32")
        tensor.set_data_from_numpy(features)
        try:
            result = self._client.infer(self.model, [tensor], outputs=[self._grpc.InferRequestedOutput("QUERY")],
                                        client_timeout=self.timeout_s)
            return result.as_numpy("QUERY")
        except InferenceServerException as exc:
            raise EncoderUnavailable(f"Triton at {self.url}: {exc.message() or exc}") from None
        except ValueError as exc:  # an empty tensor: the server's python stub runs numpy 2
            raise EncoderUnavailable(f"Triton at {self.url} answered an empty tensor ({exc}); is numpy < 2 "
                                     f"installed in the Triton venv?") from None

    def close(self) -> None:
        self._client.close()
