"""Config problems as located, operator-readable issues.

Every problem found in a config file or a ``--set`` argument becomes one :class:`ConfigIssue`, printed as
``PATH:LINE:COL: field.path: message`` (the ``mediagrid validate`` contract), so that editors and CI logs can
jump to it. Loading collects all issues before it fails, so an operator fixes a file in one pass.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mediagrid.errors import MediagridError

#: ``field`` of an issue about the file as a whole: missing, unreadable, binary, not UTF-8, empty.
FILE_FIELD = "(file)"
#: ``field`` of a YAML syntax issue, which has a position but no field path yet.
YAML_FIELD = "(yaml)"
#: ``field`` of an issue about the top level of the document, e.g. a list where a mapping belongs.
ROOT_FIELD = "(root)"


@dataclass(frozen=True)
class ConfigIssue:
    """One problem, located at a 1-based line and column of ``path`` (a file, or ``--set``)."""

    path: str
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.field}: {self.message}"


class ConfigError(MediagridError):
    """A config could not be loaded; ``issues`` lists every problem found, in file order."""

    exit_code = 2

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))
