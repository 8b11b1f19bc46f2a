"""A loaded document together with where each of its keys and values came from.

Positions are kept beside the plain data (not inside it) so that the data stays ordinary dicts, lists and
scalars for jsonschema and the model, while every later stage (schema, ``--set``, semantic checks) can still
point the operator at the exact line and column, or at the ``--set`` argument that supplied a value.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediagrid.config.errors import ROOT_FIELD, ConfigIssue

#: A field path: mapping keys and list indexes from the document root.
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    """A 1-based position in a file (or in the ``--set`` arguments, see :mod:`mediagrid.config.overrides`)."""

    file: str
    line: int
    col: int


def format_path(path: FieldPath) -> str:
    """``("sites", 0, "id")`` -> ``sites[0].id``; the empty path is the document root."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or ROOT_FIELD


class SourceMap:
    """Key and value locations by field path, with fallback to the nearest located parent.

    A path may have no position of its own (a key filled in by a YAML merge, or a missing required key);
    the issue is then reported at the closest parent key, which is where the operator has to act.
    """

    def __init__(self, root: Location) -> None:
        self._keys: dict[FieldPath, Location] = {(): root}
        self._values: dict[FieldPath, Location] = {(): root}

    def record(self, path: FieldPath, key: Location, value: Location) -> None:
        """Note where the key of ``path`` and its value are written."""
        self._keys[path] = key
        self._values[path] = value

    def replace(self, path: FieldPath, key: Location, value: Location) -> None:
        """Forget ``path`` and everything below it, then record it anew (a value set by ``--set``)."""
        depth = len(path)
        for table in (self._keys, self._values):
            for old in [p for p in table if p[:depth] == path]:
                del table[old]
        self.record(path, key, value)

    def locate(self, path: FieldPath, *, key: bool = False) -> Location:
        """Location of the value at ``path`` (or of its key), else of the nearest parent's key."""
        exact = self._keys if key else self._values
        if path in exact:
            return exact[path]
        for depth in range(len(path) - 1, -1, -1):
            if path[:depth] in self._keys:
                return self._keys[path[:depth]]
        raise AssertionError("the root is always located")


@dataclass
class Document:
    """Plain data of one YAML mapping document, its display name, and its :class:`SourceMap`."""

    file: str
    data: dict[str, Any]
    where: SourceMap = field(repr=False)

    def issue(self, path: FieldPath, message: str, *, key: bool = False) -> ConfigIssue:
        """An issue about ``path``, located at its value (or, with ``key``, at its key)."""
        loc = self.where.locate(path, key=key)
        return ConfigIssue(loc.file, loc.line, loc.col, format_path(path), message)

    def sort(self, issues: list[ConfigIssue]) -> list[ConfigIssue]:
        """Issues without duplicates, in file order, then ``--set`` issues in argument order."""
        return sorted(set(issues), key=lambda i: (i.path != self.file, i.path, i.line, i.col, i.field, i.message))
