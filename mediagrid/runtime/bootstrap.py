"""The one door through which mediagrid imports Holoscan.

Holoscan's wheels link ``libcudart.so.12`` without a RUNPATH that reaches the nvidia-cuda-runtime-cu12 wheel,
warn below a 32 MB stack and crash deep operator stacks on 8 MB worker threads, log CUDA noise at INFO on a
machine without a GPU, and warn that the CUDA driver is insufficient as each graph starts there (see
:mod:`mediagrid.runtime.quiet_cuda`). Each of these has to be dealt with *before* the first ``import holoscan``,
so every module that needs Holoscan calls :func:`import_holoscan` instead of importing it directly.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import resource
import threading
from pathlib import Path
from types import ModuleType

from mediagrid.errors import MediagridError
from mediagrid.runtime.quiet_cuda import quiet_cpu_start

STACK_BYTES = 32 * 1024 * 1024
DEFAULT_LOG_LEVEL = "WARN"

_lock = threading.Lock()
_holoscan: ModuleType | None = None


def _cudart_path() -> Path | None:
    spec = importlib.util.find_spec("nvidia.cuda_runtime")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "lib" / "libcudart.so.12"
        if candidate.exists():
            return candidate
    return None


def preload_cudart() -> ctypes.CDLL:
    """Load libcudart with RTLD_GLOBAL so Holoscan's extensions find the soname already in the process."""
    path = _cudart_path()
    if path is None:
        raise MediagridError(
            "libcudart.so.12 not found: install the nvidia-cuda-runtime-cu12 wheel (make test does)"
        )
    return ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)


def raise_stack_limit(size: int = STACK_BYTES) -> None:
    """Grow the main thread's stack limit (and silence Holoscan's warning about it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if soft != resource.RLIM_INFINITY and soft < size:
        target = size if hard == resource.RLIM_INFINITY else min(size, hard)
        resource.setrlimit(resource.RLIMIT_STACK, (target, hard))


def set_default_thread_stack(size: int = STACK_BYTES) -> None:
    """Make threads created from now on (Holoscan's workers included) get ``size`` bytes of stack.

    glibc caches the default pthread stack size at process start, so setrlimit alone leaves worker
    threads at 8 MB; pthread_setattr_default_np changes the default for every later thread.
    """
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    attr = ctypes.create_string_buffer(128)  # sizeof(pthread_attr_t) is 56 on x86_64 and 64 on aarch64
    libc.pthread_attr_init(attr)
    try:
        libc.pthread_attr_setstacksize(attr, ctypes.c_size_t(size))
        rc = libc.pthread_setattr_default_np(attr)
    finally:
        libc.pthread_attr_destroy(attr)
    if rc != 0:
        raise MediagridError(f"pthread_setattr_default_np failed with error {rc}")


def import_holoscan() -> ModuleType:
    """Prepare the process once and return the ``holoscan`` module.

    ``HOLOSCAN_LOG_LEVEL`` defaults to WARN (tests set ERROR); an explicit value in the environment wins.
    On a node without CUDA, says so once on stderr and holds back Holoscan's CUDA-driver warnings.
    """
    global _holoscan
    with _lock:
        if _holoscan is None:
            os.environ.setdefault("HOLOSCAN_LOG_LEVEL", DEFAULT_LOG_LEVEL)
            cudart = preload_cudart()
            quiet_cpu_start(cudart)
            raise_stack_limit()
            set_default_thread_stack()
            import holoscan  # noqa: PLC0415 - the point of this module is to import it late

            _holoscan = holoscan
        return _holoscan
