"""A quiet start on a CPU-only node: mediagrid says once that it runs on CPU; Holoscan's CUDA noise is held back.

Without a usable CUDA driver, Holoscan warns as each graph starts, from C++ straight to fd 2::

    [warning] [gxf_cuda.cpp:33] CUDA Runtime call cudaGetDeviceCount(&gpu_count) ... failed with 'CUDA driver
              version is insufficient for CUDA runtime version' (35).
    [warning] [gxf_cuda.cpp:33] Initializing CudaObjectHandler with support for CPU data only
    [warning] [event_based_scheduler.cpp:154] GPU not available for Driver APIs, cuda_error: ..., error_str: CUDA
              driver version is insufficient for CUDA runtime version

Users read these as a fault. Holoscan's only knob is its global log level (``HOLOSCAN_LOG_LEVEL``), which would
hide every other warning too, so :class:`StderrFilter` puts a pipe on fd 2 and a thread that forwards every byte
except those lines. It is installed only when our own ``cudaGetDeviceCount`` fails (the very call and error
Holoscan warns about) and Holoscan's level is the default WARN: at INFO and below someone is debugging and sees
everything; at ERROR and above Holoscan prints none of it.

The filter retires itself (fd 2 back to the real stderr) a few seconds after the last line it held back, and at
exit, so a crash later in a long run writes straight to stderr; until then, lines pass in order, partial lines
(progress updates with ``\\r``) pass at once, and whatever children inherit fd 2 keep being forwarded.
"""
from __future__ import annotations

import atexit
import ctypes
import os
import select
import sys
import threading
import time
from collections.abc import Iterable

CPU_NOTICE = "mediagrid: no CUDA device; running on CPU (numpy backend)"
CPU_ONLY_MARKER = b"with support for CPU data only"  # gxf_cuda's CudaObjectHandler / UcxContext follow-up line
QUIET_AFTER_S = 10.0  # retire this long after the last held-back line: a graph's start emits them in a burst
HOLD_PARTIAL_S = 0.2  # a partial line that may become a Holoscan warning waits at most this long for its end
_FILTERED_LEVELS = {"WARN", "WARNING"}
_SHOWN_LEVELS = {"TRACE", "DEBUG", "INFO", *_FILTERED_LEVELS}

_lock = threading.Lock()
_announced = False
_active: StderrFilter | None = None


def cuda_error(cudart: ctypes.CDLL) -> str | None:
    """The CUDA runtime's error string when ``cudaGetDeviceCount`` fails here (as it does for Holoscan), else None.

    A count of zero is not an error: Holoscan does not warn then, so there is nothing to hold back.
    """
    count = ctypes.c_int(0)
    code = cudart.cudaGetDeviceCount(ctypes.byref(count))
    if code == 0:
        return None
    cudart.cudaGetErrorString.restype = ctypes.c_char_p
    text = cudart.cudaGetErrorString(code)
    return text.decode(errors="replace") if text else f"CUDA error {code}"


class StderrFilter:
    """fd 2 through a pipe; a thread forwards to the real stderr every line that contains none of ``markers``
    in a line that also says ``warn`` (Holoscan's ``[warning]`` tag)."""

    def __init__(self, markers: Iterable[bytes], quiet_after_s: float = QUIET_AFTER_S) -> None:
        self.markers = tuple(m for m in markers if m)
        self.quiet_after_s = quiet_after_s
        self.held_back = 0
        self._lock = threading.Lock()
        self._retired = False
        self._saved = self._read = -1
        self._pipe_id: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None

    # -- installing and retiring -------------------------------------------------------------------------------
    def install(self) -> StderrFilter:
        sys.stderr.flush()
        self._saved = os.dup(2)  # the real stderr (a terminal, a file or a pipe); not inherited by children
        self._read, write = os.pipe()
        stat = os.fstat(write)
        self._pipe_id = (stat.st_dev, stat.st_ino)
        os.dup2(write, 2)  # fd 2 (inheritable, as before) is now the pipe's only write end in this process
        os.close(write)
        self._thread = threading.Thread(target=self._forward, name="mediagrid-stderr-filter", daemon=True)
        self._thread.start()
        atexit.register(self.close)
        return self

    def retire(self) -> None:
        """Point fd 2 back at the real stderr; the thread drains what is in the pipe and ends at its EOF."""
        with self._lock:
            if self._retired:
                return
            self._retired = True
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            if self._saved >= 0 and self._owns_fd2():  # someone else (pytest's capture) may have replaced fd 2 since
                os.dup2(self._saved, 2)

    def close(self, timeout_s: float = 1.0) -> None:
        """Retire and wait (briefly: a child may hold the pipe open) until what was written is forwarded."""
        self.retire()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _owns_fd2(self) -> bool:
        try:
            stat = os.fstat(2)
        except OSError:
            return False
        return (stat.st_dev, stat.st_ino) == self._pipe_id

    # -- the forwarding thread ---------------------------------------------------------------------------------
    def is_noise(self, line: bytes) -> bool:
        return b"warn" in line.lower() and any(marker in line for marker in self.markers)

    def _emit(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._saved, view):]
            except OSError:  # the real stderr is gone (a closed pipe): drop, as a direct write would fail
                return

    def _forward(self) -> None:
        held = b""  # the start of a line that may still turn out to be noise
        held_since = 0.0
        mid_line = False  # the current line's start was forwarded already: forward the rest as it comes
        last_noise: float | None = None
        try:
            while True:
                wait = None
                if held:
                    wait = max(0.0, held_since + HOLD_PARTIAL_S - time.monotonic())
                elif last_noise is not None and not self._retired:
                    wait = max(0.0, last_noise + self.quiet_after_s - time.monotonic())
                ready, _, _ = select.select([self._read], [], [], wait)
                now = time.monotonic()
                if not ready:
                    if held and now - held_since >= HOLD_PARTIAL_S:
                        self._emit(held)
                        held, mid_line = b"", True
                    if last_noise is not None and now - last_noise >= self.quiet_after_s:
                        self.retire()
                        last_noise = None
                    continue
                chunk = os.read(self._read, 65536)
                if not chunk:
                    break
                out = bytearray()
                *lines, rest = chunk.split(b"\n")
                for part in lines:
                    if mid_line:
                        out += part + b"\n"
                        mid_line = False
                        continue
                    line, held = held + part, b""
                    if self.is_noise(line):
                        self.held_back += 1
                        last_noise = now
                    else:
                        out += line + b"\n"
                if rest:
                    if mid_line:
                        out += rest
                    else:
                        if not held:
                            held_since = now
                        held += rest
                        if not held.startswith(b"["):  # Holoscan's lines start with "[": this one is not noise
                            out += held
                            held, mid_line = b"", True
                if out:
                    self._emit(bytes(out))
            if held:
                self._emit(held)
        finally:
            os.close(self._read)
            saved, self._saved = self._saved, -1
            os.close(saved)


def _holoscan_level() -> str:
    return os.environ.get("HOLOSCAN_LOG_LEVEL", "WARN").strip().upper()


def quiet_cpu_start(cudart: ctypes.CDLL) -> StderrFilter | None:
    """Before Holoscan starts a graph on a node without CUDA: say so once, and hold back Holoscan's CUDA warnings.

    Does nothing where CUDA answers, or where Holoscan's log level hides warnings anyway.
    """
    global _announced, _active
    with _lock:
        level = _holoscan_level()
        if _announced or level not in _SHOWN_LEVELS:
            return _active
        error = cuda_error(cudart)
        if error is None:
            return None
        _announced = True
        print(CPU_NOTICE, file=sys.stderr, flush=True)
        if level in _FILTERED_LEVELS:
            try:
                _active = StderrFilter([error.encode(), CPU_ONLY_MARKER]).install()
            except OSError:  # no usable fd 2 (closed): nothing would be shown anyway
                _active = None
        return _active
