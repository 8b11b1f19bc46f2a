""":func:`~mediagrid.scheduler.deadline.classify` for whole arrays of items (the grid simulator's millions).

The rule itself stays in ``classify``: here only the sign of each item's lateness is computed with numpy,
and a 12-entry table, filled by calling ``classify`` once per (lateness sign, degraded, dropped), turns it
into outcome codes. A change to ``classify`` (say, finishing exactly at the deadline) therefore changes
both paths alike.
"""
from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from mediagrid.scheduler.deadline import Deadline, Outcome, classify

#: Outcome of each code in the arrays below: ``OUTCOMES[code]``.
OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
CODE: dict[Outcome, int] = {outcome: code for code, outcome in enumerate(OUTCOMES)}


@cache
def _table() -> np.ndarray:
    deadline = Deadline(origin_ns=0, deadline_ns=1)
    table = np.empty((3, 2, 2), dtype=np.int8)
    for sign in (-1, 0, 1):
        for degraded in (False, True):
            for dropped in (False, True):
                outcome = classify(1 + sign, deadline, degraded=degraded, dropped=dropped)
                table[sign + 1, int(degraded), int(dropped)] = CODE[outcome]
    table.flags.writeable = False
    return table


def classify_array(
    finished_ns: npt.ArrayLike, deadline_ns: npt.ArrayLike, *,
    degraded: npt.ArrayLike | None = None, dropped: npt.ArrayLike | None = None,
) -> np.ndarray:
    """Outcome codes (int8, see :data:`OUTCOMES`) of items that finished (or were given up) at ``finished_ns``."""
    finished = np.asarray(finished_ns, dtype=np.int64)
    lateness = np.sign(finished - np.asarray(deadline_ns, dtype=np.int64)) + 1
    shape = lateness.shape
    flag_degraded = np.zeros(shape, np.intp) if degraded is None else np.asarray(degraded, dtype=np.intp)
    flag_dropped = np.zeros(shape, np.intp) if dropped is None else np.asarray(dropped, dtype=np.intp)
    return _table()[lateness, flag_degraded, flag_dropped]
