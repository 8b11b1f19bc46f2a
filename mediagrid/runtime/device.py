"""Chooses where array work runs, once, at start-up: cupy on a usable GPU, numpy everywhere else.

Operators are written once against the module that :func:`array_module` returns (``xp``), so the same
code path runs on a CPU-only edge box and on a GPU node.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np

from mediagrid.errors import DeviceError

DeviceChoice = Literal["auto", "cpu", "gpu"]
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class Backend:
    """The resolved device: its name (``cpu`` or ``gpu``) and the array module that runs on it."""

    device: Literal["cpu", "gpu"]
    xp: ModuleType
    reason: str

    def asarray(self, array: Any) -> Any:
        """Move ``array`` onto this backend's device (no copy when it is already there)."""
        return self.xp.asarray(array)

    def to_host(self, array: Any) -> np.ndarray:
        """A numpy view or copy of ``array`` for code that must touch host memory (encoders, files)."""
        return array.get() if hasattr(array, "get") and self.device == "gpu" else np.asarray(array)


def _cupy_if_usable() -> tuple[ModuleType | None, str]:
    """Import cupy only when a CUDA device answers; cupy imports fine without one and fails later."""
    try:
        import cupy  # noqa: PLC0415 - optional, and slow to import
    except Exception as exc:  # ImportError, or a CUDA library error raised while importing
        return None, f"cupy not importable ({type(exc).__name__})"
    try:
        if cupy.cuda.is_available() and cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy, "CUDA device found"
    except Exception as exc:  # cupy raises CUDARuntimeError and friends without a driver
        return None, f"no usable CUDA device ({type(exc).__name__})"
    return None, "no CUDA device"


def gpu_available() -> bool:
    """Whether a CUDA device is usable through cupy here (for tests that skip cleanly without one)."""
    return _cupy_if_usable()[0] is not None


def select_backend(choice: str = "auto") -> Backend:
    """Resolve ``auto|cpu|gpu``; ``gpu`` on a machine without one is an error, never a silent fallback."""
    if choice not in DEVICE_CHOICES:
        raise DeviceError(f"device must be one of {', '.join(DEVICE_CHOICES)}, not {choice!r}")
    if choice == "cpu":
        return Backend("cpu", np, "cpu requested")
    cupy, reason = _cupy_if_usable()
    if cupy is not None:
        return Backend("gpu", cupy, reason)
    if choice == "gpu":
        raise DeviceError(f"device 'gpu' requested but {reason}; use --device cpu or auto")
    return Backend("cpu", np, f"auto: {reason}, using numpy")


def array_module(array: Any) -> ModuleType:
    """The array module (numpy or cupy) that owns ``array``, for helpers that take either."""
    module = type(array).__module__.split(".", 1)[0]
    if module == "cupy":
        import cupy  # noqa: PLC0415

        return cupy
    return np
