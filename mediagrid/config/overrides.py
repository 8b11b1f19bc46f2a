"""``--set key.path=value`` overrides, applied to a loaded document before it is validated.

Overridden values go through the same schema and semantic checks as the file, so a typo in a key or a
wrong type is caught the same way. Issues about an override are located in a virtual file named
``--set`` whose *line* is the 1-based position of the ``--set`` argument on the command line and whose
*column* is the 1-based column within that argument: ``--set:2:12: source.fps: ...`` points at the value
(column 12) of the second ``--set``.
"""
from __future__ import annotations

from collections.abc import Sequence

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from mediagrid.config.document import Document, FieldPath, Location, format_path
from mediagrid.config.errors import ConfigIssue

SET_FILE = "--set"


def apply_overrides(doc: Document, overrides: Sequence[str]) -> list[ConfigIssue]:
    """Apply each ``key.path=value`` to ``doc`` in order (later wins); return issues for the malformed ones.

    The value is read as one YAML flow value, so ``30`` is a number, ``true`` a boolean, ``'"null"'`` text
    and ``{x: 0, y: 0, w: 64, h: 64}`` a mapping. Keys are not checked here: an unknown key is left for
    the schema, which reports it with the allowed keys of its level.
    """
    issues: list[ConfigIssue] = []
    for index, arg in enumerate(overrides, start=1):
        key_text, eq, value_text = arg.partition("=")
        keys = tuple(part.strip() for part in key_text.split("."))
        if not eq or not all(keys):
            issues.append(_issue(index, 1, key_text.strip() or "(none)",
                                 f"expected KEY.PATH=VALUE (for example source.fps=30), got '{arg}'"))
            continue
        value_col = len(key_text) + 2
        try:
            value = YAML(typ="safe", pure=True).load(value_text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            col = value_col + (mark.column if mark else 0)
            reason = exc.problem or exc.context
            issues.append(_issue(index, col, format_path(keys), f"value is not valid YAML: {reason}"))
            continue
        except YAMLError as exc:
            issues.append(_issue(index, value_col, format_path(keys), f"value is not valid YAML: {exc}"))
            continue
        problem = _assign(doc, keys, value, Location(SET_FILE, index, 1), Location(SET_FILE, index, value_col))
        if problem:
            issues.append(_issue(index, 1, format_path(keys), problem))
    return issues


def _issue(index: int, col: int, field: str, message: str) -> ConfigIssue:
    return ConfigIssue(SET_FILE, index, col, field, message)


def _assign(doc: Document, keys: FieldPath, value: object, key_at: Location, value_at: Location) -> str | None:
    """Set ``keys`` to ``value``, creating missing (or empty) mappings on the way; a reason if impossible."""
    node = doc.data
    for depth, key in enumerate(keys[:-1], start=1):
        child = node.get(key)
        if child is None:
            child = node[key] = {}
            doc.where.replace(keys[:depth], key_at, key_at)
        elif not isinstance(child, dict):
            return f"cannot set a key inside {format_path(keys[:depth])}: it holds {_kind(child)}, not a mapping"
        node = child
    node[keys[-1]] = value
    doc.where.replace(keys, key_at, value_at)
    return None


def _kind(value: object) -> str:
    return "a list" if isinstance(value, list) else f"a single value ({value!r})"
