"""How a run is told to stop, and how an operator reports a failure to the process that started it.

Holoscan runs ``compute()`` on its own threads, where an exception would only be logged; operators hand the
failure to :meth:`RunControl.fail` instead and the runner re-raises it as a clean error after the graph ends.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from mediagrid.runtime.clock import NS_PER_S, now_ns


@dataclass
class RunControl:
    """Limits and stop requests shared by the runner (main thread) and the sources (scheduler thread)."""

    max_items: int | None = None
    duration_s: float | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    stopped_by: str | None = None
    started_ns: int = field(default_factory=now_ns)
    _stop_hooks: list[Callable[[], None]] = field(default_factory=list)

    def add_stop_hook(self, hook: Callable[[], None]) -> None:
        """Called once on a stop request, e.g. to wake a source that waits for events and would not see it."""
        self._stop_hooks.append(hook)

    def start_clock(self) -> None:
        self.started_ns = now_ns()

    def request_stop(self, reason: str = "interrupt") -> None:
        if self.stopped_by is None:
            self.stopped_by = reason
        if not self.stop_requested.is_set():
            self.stop_requested.set()
            for hook in self._stop_hooks:
                hook()

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self.request_stop("error")

    def should_stop(self, items_done: int, at_ns: int | None = None) -> bool:
        """True once a limit is reached or a stop was requested; records why, first reason wins."""
        if self.stop_requested.is_set():
            return True
        if self.max_items is not None and items_done >= self.max_items:
            self.request_stop("frames")
        elif self.duration_reached(at_ns):
            self.request_stop("duration")
        return self.stop_requested.is_set()

    def duration_reached(self, at_ns: int | None = None) -> bool:
        """Whether ``duration_s`` has passed since the clock started (a paced source starts it at its first
        frame, so start-up is not part of a run's duration)."""
        return self.duration_s is not None and (now_ns() if at_ns is None else at_ns) - self.started_ns >= (
            self.duration_s * NS_PER_S)
