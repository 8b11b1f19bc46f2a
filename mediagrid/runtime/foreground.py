"""Running a service in the foreground of the CLI (``mediagrid broker``, ``mediagrid speech-server``):
Ctrl-C or SIGTERM stops it cleanly, including during a slow start, and the terminal's handlers come back."""
from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import Any


def serve_until_signal(start: Callable[[], str], stop: Callable[[], str], check: Callable[[], None] | None = None,
                       poll_s: float = 0.5) -> int:
    """``start()`` returns the ready line to print, ``stop()`` the stopped line; ``check()`` (if given) runs
    every ``poll_s`` and raises when the service died. Call from the main thread; returns the exit code."""
    requested = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    stopped = ""
    try:
        ready = start()
        if not requested.is_set():  # Ctrl-C during a slow start: just stop
            print(f"{ready} (Ctrl-C to stop)", flush=True)
        while not requested.wait(poll_s):
            if check is not None:
                check()
    finally:
        stopped = stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(stopped, file=sys.stderr, flush=True)
    return 0
