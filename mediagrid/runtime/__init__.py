"""Process bootstrap (Holoscan import), device and array-backend choice, and the node clock."""
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import ms_to_ns, now_ns, ns_to_ms
from mediagrid.runtime.device import DEVICE_CHOICES, Backend, array_module, gpu_available, select_backend

__all__ = [
    "DEVICE_CHOICES",
    "Backend",
    "array_module",
    "gpu_available",
    "import_holoscan",
    "ms_to_ns",
    "now_ns",
    "ns_to_ms",
    "select_backend",
]
