"""Logging for the ``mediagrid`` command: one line per message on stderr, and no storms.

While a broker is away, aiokafka logs the same connection error every few milliseconds; a terminal, a
journal or a pipe would fill with thousands of identical lines (and a full pipe blocks the Kafka thread).
:class:`RepeatFilter` lets the first occurrence through, then at most one line per interval that says how
many were held back.
"""
from __future__ import annotations

import logging
import time

FORMAT = "mediagrid %(levelname)s %(name)s: %(message)s"


class RepeatFilter(logging.Filter):
    def __init__(self, interval_s: float = 10.0) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}  # (logger, template) -> (last shown, held)

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last, held = self._seen.get(key, (-self.interval_s, 0))
        if now - last < self.interval_s:
            self._seen[key] = (last, held + 1)
            return False
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {now - last:.0f} s)"
        return True


def configure(level: int = logging.WARNING) -> None:
    """Our warnings on stderr; aiokafka's retry chatter (topic not yet created, coordinator moving) only
    when it becomes an error, and repeated lines folded."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RepeatFilter())
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
