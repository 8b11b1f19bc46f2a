"""jsonschema errors rewritten as located issues that an operator can act on without reading the schema.

jsonschema's own messages quote Python reprs and whole sub-documents; here each error names the field,
says what was expected and what was found, and suggests the nearest allowed word for typos. An error about
unknown keys becomes one issue per key, at the key.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from jsonschema import ValidationError

from mediagrid.config.document import Document, FieldPath
from mediagrid.config.errors import ConfigIssue
from mediagrid.config.schema import matches_any, members, resolver, validator

_EXPECTED = {"string": "text", "number": "a number", "integer": "a whole number", "boolean": "true or false",
             "object": "a mapping (key: value)", "array": "a list", "null": "null"}
_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}
_NUMBER_WITH_UNIT = re.compile(r"^\s*[-+]?[\d.]+\s*(ns|us|µs|ms|s|fps|px)\s*$")
_BOUNDS = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "greater than",
           "exclusiveMaximum": "less than"}


def schema_issues(doc: Document, schema_name: str) -> list[ConfigIssue]:
    """Every schema violation in ``doc``, against the packaged schema ``schema_name``."""
    errors = list(validator(schema_name).iter_errors(doc.data))
    typed = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    issues: list[ConfigIssue] = []
    for error in errors:
        path = tuple(error.absolute_path)
        if path in typed and error.validator != "type":
            continue  # a wrong type explains every other complaint about the same value
        issues += _issues(doc, error, path, schema_name)
    return issues


def describe(value: Any) -> str:
    """A value as an operator would write it in YAML, with its kind."""
    if value is None:
        return "no value (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"whole number {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        return f"text '{value if len(value) <= 40 else value[:37] + '...'}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value}"


def did_you_mean(word: object, choices: Iterable[object]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or ``""`` when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _issues(doc: Document, error: ValidationError, path: FieldPath, schema_name: str) -> list[ConfigIssue]:
    kind, value, schema = error.validator, error.instance, error.schema
    if kind in ("additionalProperties", "unevaluatedProperties"):
        return _unknown_keys(doc, error, path, schema_name)
    if kind == "required":  # one error per missing name, without the name: list all (duplicates are merged)
        conditional = "then" in error.relative_schema_path and "description" in schema
        hint = f" ({schema['description']})" if conditional else ""
        return [doc.issue((*path, name), f"required field is missing{hint}", key=True)
                for name in error.validator_value if name not in value]
    return [doc.issue(path, _message(kind, error.validator_value, value, schema) or error.message)]


def _message(kind: str, expected: Any, value: Any, schema: dict[str, Any]) -> str | None:
    if kind == "type":
        wanted = " or ".join(_EXPECTED[t] for t in ([expected] if isinstance(expected, str) else expected))
        return f"expected {wanted}, got {describe(value)}{_type_hint(expected, value, schema)}"
    if kind == "enum":
        shown = ", ".join(f"'{e}'" for e in expected)
        hints = _null_hint(value, expected) + did_you_mean(value, expected)
        return f"must be one of {shown}; got {describe(value)}{hints}"
    if kind == "const":
        return f"must be '{expected}'; got {describe(value)}"
    if kind in _BOUNDS:
        return f"must be {_BOUNDS[kind]} {expected}, got {value}"
    if kind == "pattern":
        what = schema.get("description", f"text matching {expected}")
        return f"invalid value {describe(value)}: expected {what}"
    if kind in ("minLength", "minItems", "minProperties"):
        return "must not be empty" if expected == 1 else f"needs at least {expected} entries"
    return None


def _type_hint(expected: Any, value: Any, schema: dict[str, Any]) -> str:
    if expected == "boolean" and isinstance(value, str) and value.lower() in _YAML11_BOOLEANS:
        return " (YAML 1.2 reads it as text; write true or false)"
    if expected in ("number", "integer") and isinstance(value, str) and _NUMBER_WITH_UNIT.match(value):
        return " (write a plain number; the unit is in the field name)"
    return _null_hint(value, schema.get("enum", ()))


def _null_hint(value: Any, allowed: Iterable[Any]) -> str:
    return " (write \"null\" in quotes: bare null means no value)" if value is None and "null" in allowed else ""


def _unknown_keys(doc: Document, error: ValidationError, path: FieldPath, schema_name: str) -> list[ConfigIssue]:
    """One issue per key that the object's schema does not allow, with the nearest allowed key."""
    schema = error.schema
    if error.validator == "additionalProperties":  # only sibling keywords count for additionalProperties
        allowed, patterns = list(schema.get("properties", {})), list(schema.get("patternProperties", {}))
    else:  # unevaluatedProperties sits at the root of app schemas; it also sees what $ref brings in
        props, patterns = members(schema, resolver(schema_name))
        allowed = list(props)
    present = [k for k in error.instance if k in allowed or matches_any(k, patterns)]
    candidates = list(dict.fromkeys([*allowed, *present]))
    listing = ", ".join(f"'{k}'" for k in allowed) or "none"
    if patterns:
        listing += f", or names matching {' or '.join(patterns)}"
    issues = []
    for key in error.instance:
        if key in allowed or matches_any(key, patterns):
            continue
        hint = did_you_mean(key, candidates) or f"; allowed here: {listing}"
        issues.append(doc.issue((*path, key), f"unknown key '{key}'{hint}", key=True))
    return issues
