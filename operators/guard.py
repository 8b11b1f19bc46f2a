"""Keeps an operator's exception from dying silently on a Holoscan worker thread."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from mediagrid.runtime.control import RunControl


def guarded(compute: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``compute``: on an exception, hand it to the run's :class:`RunControl` and stop this operator.

    The operator must have a ``control`` attribute; the runner re-raises the error once the graph ends.
    """

    @functools.wraps(compute)
    def wrapper(self: Any, op_input: Any, op_output: Any, context: Any) -> Any:
        try:
            return compute(self, op_input, op_output, context)
        except Exception as exc:  # noqa: BLE001 - re-raised by the runner with its context
            control: RunControl = self.control
            control.fail(exc)
            self.stop_execution()
            return None

    return wrapper
