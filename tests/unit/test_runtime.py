import ctypes
import resource
import subprocess
import sys

import numpy as np
import pytest

from mediagrid.errors import DeviceError
from mediagrid.runtime import array_module, gpu_available, import_holoscan, select_backend
from mediagrid.runtime.bootstrap import STACK_BYTES


def test_cpu_backend_is_numpy():
    backend = select_backend("cpu")
    assert backend.device == "cpu" and backend.xp is np
    assert array_module(np.zeros(2)) is np


def test_auto_picks_what_the_machine_has():
    assert select_backend("auto").device == ("gpu" if gpu_available() else "cpu")


@pytest.mark.skipif(gpu_available(), reason="this machine has a GPU")
def test_gpu_without_gpu_is_a_clear_error():
    with pytest.raises(DeviceError, match="'gpu' requested"):
        select_backend("gpu")


def test_unknown_device_choice():
    with pytest.raises(DeviceError, match="one of auto, cpu, gpu"):
        select_backend("tpu")


def test_holoscan_bootstrap_sets_stacks():
    import_holoscan()
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    assert soft == resource.RLIM_INFINITY or soft >= STACK_BYTES
    libc = ctypes.CDLL("libc.so.6")
    attr = ctypes.create_string_buffer(128)
    assert libc.pthread_getattr_default_np(attr) == 0
    size = ctypes.c_size_t()
    libc.pthread_attr_getstacksize(attr, ctypes.byref(size))
    assert size.value >= STACK_BYTES


def test_import_mediagrid_is_silent():
    """No CUDA noise on a machine without a GPU at the default log level (env var unset)."""
    code = "import mediagrid, mediagrid.runtime, mediagrid.config, mediagrid.scheduler, mediagrid.metrics"
    env = {k: v for k, v in __import__("os").environ.items() if k != "HOLOSCAN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
