"""Triton Inference Server: the standalone server launcher and the gRPC client mediagrid encodes with.

The server is the ``tritonserver`` binary shipped inside the nvidia-pytriton wheel, run as a plain child
process (not through PyTriton's Python API) from a venv of its own, made by ``tools/triton/setup-venv.sh``
(``.cache/triton-venv``, or ``$MEDIAGRID_TRITON_VENV``). mediagrid itself only speaks gRPC through
``tritonclient``. Two pitfalls from docs/notes/triton-faiss-video-on-cpu.md are handled here:

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

import contextlib
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from mediagrid.errors import ChildProcessFailed
from mediagrid.recsys.query_encoder import MODEL_NAME, EncoderUnavailable
from mediagrid.runtime.process import ChildProcess, forget_at_exit, free_port, stop_at_exit, tail

if TYPE_CHECKING:
    from tritonclient.grpc import InferenceServerClient

#: Where tools/triton/setup-venv.sh puts the server's venv, relative to the repository root (the CWD).
DEFAULT_VENV = Path(".cache/triton-venv")
VENV_ENV = "MEDIAGRID_TRITON_VENV"
SETUP_HINT = "run `bash tools/triton/setup-venv.sh` (make triton-venv) to create it"
_LOG_NAME = "tritonserver.log"
_START_TRIES = 3  # free ports are racy: a lost race shows up as a bind error, so try fresh ports


class TritonError(ChildProcessFailed):
    """The Triton server cannot be found, started or reached."""


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
        self._child: ChildProcess | None = None
        self._workdir: Path | None = None

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def log_path(self) -> Path | None:
        return self._workdir / _LOG_NAME if self._workdir else None

    def is_running(self) -> bool:
        return self._child is not None and self._child.is_running()

    def start(self, timeout_s: float = 60.0) -> TritonServer:
        """Start the server; return once it and every model are ready. Raises :class:`TritonError`."""
        if self.is_running():
            return self
        root = server_dir(self.venv)
        if not (self.repository / self.models[0] / "config.pbtxt").is_file():
            raise TritonError(f"model repository {self.repository} has no {self.models[0]}/config.pbtxt")
        env = server_environment(self.venv, root)
        import tritonclient.grpc as grpcclient  # noqa: PLC0415 - grpc is slow to import; only servers need it

        self._workdir = Path(tempfile.mkdtemp(prefix="mediagrid-triton-"))
        stop_at_exit(self.stop)  # the working folder, too, must not outlive the interpreter
        log_path = self._workdir / _LOG_NAME
        for attempt in range(1, _START_TRIES + 1):
            self.grpc_port, self.http_port, self.metrics_port = (free_port(self.host) for _ in range(3))
            with contextlib.closing(grpcclient.InferenceServerClient(self.grpc_url)) as client:
                self._child = ChildProcess(f"tritonserver on {self.grpc_url}", self._command(root),
                                           ready=functools.partial(self._ready, client), log_path=log_path,
                                           cwd=self._workdir, env=env, error=TritonError)
                try:
                    self._child.start(timeout_s)
                    return self
                except TritonError:
                    if "already in use" not in tail(log_path) or attempt == _START_TRIES:
                        self.stop()
                        raise
        raise AssertionError("unreachable")

    def _command(self, root: Path) -> list[str]:
        return [
            str(root / "bin/tritonserver"), f"--model-repository={self.repository}",
            f"--backend-directory={root / 'backends'}", f"--cache-directory={root / 'caches'}",
            f"--grpc-address={self.host}", f"--http-address={self.host}",
            f"--grpc-port={self.grpc_port}", f"--http-port={self.http_port}", f"--metrics-port={self.metrics_port}",
            "--model-control-mode=explicit", *(f"--load-model={m}" for m in self.models),
            "--pinned-memory-pool-byte-size=0", "--exit-timeout-secs=5", "--log-verbose=0",
        ]

    def _ready(self, client: InferenceServerClient) -> bool:
        from tritonclient.utils import InferenceServerException  # noqa: PLC0415

        with contextlib.suppress(InferenceServerException):
            return bool(client.is_server_ready(client_timeout=1.0)
                        and all(client.is_model_ready(m, client_timeout=1.0) for m in self.models))
        return False

    def stop(self) -> None:
        """Stop the server and remove its working folder; safe to call any number of times."""
        child, self._child = self._child, None
        if child is not None:
            child.stop()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
            forget_at_exit(self.stop)

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<TritonServer {self.grpc_url} {'running' if self.is_running() else 'stopped'}>"


class TritonEncoder:
    """The query encoder on a Triton server, over gRPC. Every failure (server gone, timeout, an empty
    answer) raises :class:`EncoderUnavailable`, which :class:`~mediagrid.recsys.query_encoder.FallbackEncoder`
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
