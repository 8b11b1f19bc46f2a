"""Read a YAML file into a :class:`Document`, turning every way a file can be wrong into a located issue.

ruamel.yaml first *composes* the node tree, which carries line/column marks; the tree is indexed (field path
-> position), checked for duplicate and non-text keys, and only then constructed into plain Python data.
Composing before constructing is what lets a duplicate key be reported with both of its locations, and all
duplicates at once, instead of ruamel's first-one-wins exception. YAML 1.2 rules apply (``yes`` is text).
"""
from __future__ import annotations

import os
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.constructor import ConstructorError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from mediagrid.config.document import Document, FieldPath, Location, SourceMap, format_path
from mediagrid.config.errors import FILE_FIELD, ROOT_FIELD, YAML_FIELD, ConfigError, ConfigIssue

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def load_document(path: str | os.PathLike[str]) -> Document:
    """Load ``path`` as a YAML mapping; raise :class:`ConfigError` with located issues if it is not one."""
    file = os.fspath(path)
    text = _decode(file, _read(file))
    yaml = YAML(typ="safe", pure=True)
    try:
        node = yaml.compose(text)
        if node is None:
            raise ConfigError([_file_issue(file, "the file is empty; expected a YAML mapping of sections")])
        where = _index(file, node)
        data = yaml.constructor.construct_document(node)
    except ReaderError as exc:  # a control character: ruamel gives a character offset, not a mark
        line, col = _line_col(text, exc.position)
        raise ConfigError([ConfigIssue(file, line, col, YAML_FIELD,
                                       f"character {exc.character:#04x} is not allowed in YAML text")]) from None
    except MarkedYAMLError as exc:
        raise ConfigError([_syntax_issue(file, exc)]) from None
    except YAMLError as exc:
        raise ConfigError([_file_issue(file, f"YAML error: {exc}")]) from None
    except RecursionError:  # the composer recurses once per nesting level
        raise ConfigError([_file_issue(file, "values are nested too deeply")]) from None
    if data is None:
        raise ConfigError([_file_issue(file, "the file holds no value; expected a YAML mapping of sections")])
    if not isinstance(data, dict):
        root = where.locate(())
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        raise ConfigError([ConfigIssue(file, root.line, root.col, ROOT_FIELD,
                                       f"the top level must be a mapping of sections (key: value), got {kind}")])
    return Document(file, data, where)


def _file_issue(file: str, message: str) -> ConfigIssue:
    return ConfigIssue(file, 1, 1, FILE_FIELD, message)


def _read(file: str) -> bytes:
    try:
        return Path(file).read_bytes()
    except FileNotFoundError:
        reason = "file not found"
    except IsADirectoryError:
        reason = "this is a directory; expected a YAML file"
    except PermissionError:
        reason = "permission denied"
    except OSError as exc:
        reason = f"cannot read the file: {exc.strerror or exc}"
    raise ConfigError([_file_issue(file, reason)])


def _decode(file: str, raw: bytes) -> str:
    """UTF-8 text (a BOM is allowed); a NUL byte or invalid UTF-8 is reported where it occurs."""
    nul = raw.find(b"\0")
    if nul >= 0:
        line, col = _line_col(raw, nul)
        raise ConfigError([ConfigIssue(file, line, col, FILE_FIELD,
                                       "this is a binary file (NUL byte), not YAML text")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw, exc.start)
        message = f"not UTF-8 text (byte {raw[exc.start]:#04x}); save the file as UTF-8"
        raise ConfigError([ConfigIssue(file, line, col, FILE_FIELD, message)]) from None


def _line_col(content: str | bytes, offset: int) -> tuple[int, int]:
    newline = "\n" if isinstance(content, str) else b"\n"
    line = content.count(newline, 0, offset) + 1
    return line, offset - (content.rfind(newline, 0, offset) + 1) + 1


def _syntax_issue(file: str, exc: MarkedYAMLError) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    what = "unsupported YAML" if isinstance(exc, ConstructorError) else "YAML syntax error"
    problem, context, ctx = exc.problem or "", exc.context or "", exc.context_mark
    if problem.startswith("but "):  # ruamel splits one sentence: "expected X" / "but found Y"
        message = f"{what}: {context}, {problem}"
    elif context:
        started = f" started at line {ctx.line + 1}, column {ctx.column + 1}" if ctx and ctx != mark else ""
        message = f"{what}: {problem} ({context}{started})" if problem else f"{what}: {context}"
    else:
        message = f"{what}: {problem}"
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return ConfigIssue(file, line, col, YAML_FIELD, message)


def _at(file: str, node: Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _index(file: str, root: Node) -> SourceMap:
    """Positions of every key and value; raise for duplicate keys, non-text keys and recursive aliases."""
    where = SourceMap(_at(file, root))
    issues: list[ConfigIssue] = []

    def walk(node: Node, path: FieldPath, ancestors: frozenset[int]) -> None:
        if id(node) in ancestors:
            loc = _at(file, node)
            issues.append(ConfigIssue(file, loc.line, loc.col, format_path(path),
                                      "an alias refers to its own anchor; the value would be infinite"))
            return
        inside = ancestors | {id(node)}
        if isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                where.record((*path, index), _at(file, item), _at(file, item))
                walk(item, (*path, index), inside)
        elif isinstance(node, MappingNode):
            first: dict[str, Location] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:  # merged keys are located at their parent
                    continue
                key_at = _at(file, key_node)
                if not (isinstance(key_node, ScalarNode) and key_node.tag == _STR_TAG):
                    shown = key_node.value if isinstance(key_node, ScalarNode) else "a collection"
                    issues.append(ConfigIssue(file, key_at.line, key_at.col, format_path(path),
                                              f"key {shown} is not text; quote it if it is a name"))
                    continue
                key = key_node.value
                if key in first:
                    seen = first[key]
                    issues.append(ConfigIssue(file, key_at.line, key_at.col, format_path((*path, key)),
                                              f"duplicate key '{key}'; first defined at line {seen.line}, "
                                              f"column {seen.col}"))
                    continue
                first[key] = key_at
                where.record((*path, key), key_at, _at(file, value_node))
                walk(value_node, (*path, key), inside)

    walk(root, (), frozenset())
    if issues:
        raise ConfigError(issues)
    return where

