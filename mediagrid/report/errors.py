"""The one error a report raises about its input, so the CLI can print it as a clean line (exit code 2)."""
from __future__ import annotations

from mediagrid.errors import UsageError


class RunDirectoryError(UsageError):
    """A run directory that cannot be reported on: missing, without ``summary.json``, or with a summary that
    is not valid JSON or does not match ``schemas/run-summary.schema.json``.

    A ``UsageError`` because the fix is on the user's side (wrong directory, or a file edited or cut short by
    hand); every message starts with the path of the offending file so it can be opened straight away.
    """
