"""Topic registry and the one-pass decoder that every consumed Kafka message goes through.

Each topic *role* (``"sports.telemetry"``, ``"commerce.requests"``, ...) has a JSON Schema in
``schemas/topics/<default topic name>.schema.json``; the schema, not the topic's name, is the contract, so a
config may rename a topic while its messages keep their shape. :func:`decode` turns raw record bytes into a
dict or raises :class:`InvalidMessage` with a reason an operator can act on; :func:`dead_letter` wraps a
rejected record for ``mg.dlq``.

Why orjson and jsonschema-rs (``perf/topic_decode.py``, results in perf/results/topic_decode.md; a 1.9 kB
telemetry frame with 22 players and a 0.3 kB commerce request, parse + validate per second): stdlib json
with the Python ``jsonschema`` validator, about 200 and 1,900; ``fastjsonschema``, some 20 to 35 times that,
but it knows only drafts 4 to 7 and would silently skip ``unevaluatedProperties``, which closes our
messages; orjson with jsonschema-rs, a complete Draft 2020-12 validator in Rust, about 29,000 and 260,000
(orjson's parse alone: 80,000 and 900,000). orjson also refuses what JSON forbids and ``json.loads``
accepts (NaN, UTF-16). The schema files stay the single source of truth: nothing is restated in Python.
"""
from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

import jsonschema_rs
import orjson

from mediagrid.config.document import format_path
from mediagrid.errors import MediagridError, UsageError

#: role -> default topic name, as in docs/architecture.md's topic table (6.2). Configs may map a role to another name.
DEFAULT_TOPICS: Mapping[str, str] = MappingProxyType({
    "sports.telemetry": "mg.sports.telemetry",
    "ads.decisions": "mg.ads.decisions",
    "commerce.requests": "mg.commerce.requests",
    "commerce.recommendations": "mg.commerce.recommendations",
    "captions": "mg.captions",
    "grid.node-status": "mg.grid.node-status",
    "grid.placements": "mg.grid.placements",
    "grid.placement-requests": "mg.grid.placement-requests",
    "dlq": "mg.dlq",
    "ingest.relay": "mg.ingest.relay",
})
#: Value of every message's ``v`` field that this code reads and writes.
SCHEMA_VERSION = 1
#: Default limit of :func:`decode`; Kafka's own default record limit is about the same.
MAX_MESSAGE_BYTES = 1_048_576
#: A dead letter keeps at most this much of the original value, so that it always fits in a record.
DLQ_KEEP_BYTES = 256 * 1024

_SCHEMA_DIR = "topics"
_REASON_CHARS = 500
_DETAIL_CHARS = 2000
_SHOWN_CHARS = 40
#: reason prefix -> the dead-letter ``reason`` code that groups it
_CODES = (("not UTF-8", "not_utf8"), ("not JSON", "not_json"), ("over the size limit", "too_large"),
          ("schema:", "schema"))
_UNKNOWN_FIELDS = ("additionalProperties", "unevaluatedProperties")
_BOUNDS = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "greater than",
           "exclusiveMaximum": "less than"}


class InvalidMessage(MediagridError):
    """A record that cannot be accepted; ``reason`` says why in one line (it goes to the dead letter)."""

    def __init__(self, reason: str) -> None:
        self.reason = _clip(reason, _REASON_CHARS)
        super().__init__(self.reason)

    @property
    def code(self) -> str:
        """``not_utf8``, ``not_json``, ``too_large`` or ``schema``: what kind of problem, for counting."""
        return _code(self.reason)


def topic_name(role: str, renames: Mapping[str, str] | None = None) -> str:
    """The topic that carries ``role``: the config's rename if it has one, else the default name."""
    _check_role(role)
    return (renames or {}).get(role, DEFAULT_TOPICS[role])


def schema(role: str) -> dict[str, Any]:
    """The JSON Schema of ``role``'s messages (a fresh copy; the packaged file is the source)."""
    _check_role(role)
    return json.loads(_schema_text(f"{DEFAULT_TOPICS[role]}.schema.json"))


def encode(value: Mapping[str, Any]) -> bytes:
    """A message as the UTF-8 JSON bytes that :func:`decode` reads back."""
    return orjson.dumps(value)


def decode(topic_role: str, raw: bytes | None, max_bytes: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """Parse and validate one record value of ``topic_role`` exactly once; raise :class:`InvalidMessage`.

    The size is checked before parsing, so an oversized record costs nothing; only a record that fails
    validation is walked a second time, to name its first problem.
    """
    check = _validator(topic_role)
    if raw is None:
        raise InvalidMessage("not JSON: the record has no value")
    if len(raw) > max_bytes:
        raise InvalidMessage(f"over the size limit ({len(raw)} > {max_bytes} bytes)")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessage(_parse_problem(raw, exc)) from None
    if not check.is_valid(value):
        raise InvalidMessage(f"schema: {_schema_problem(check.iter_errors(value))}")
    return value


def dead_letter(topic: str, partition: int, offset: int, timestamp_ms: int | None, raw: bytes | None,
                reason: str) -> bytes:
    """The ``mg.dlq`` record for a rejected record: where it was, why, and its bytes (base64, at most
    :data:`DLQ_KEEP_BYTES` of them) so that it can be inspected or replayed."""
    original = raw or b""
    kept = original[:DLQ_KEEP_BYTES]
    return encode({
        "v": SCHEMA_VERSION,
        "ts_ms": time.time_ns() // 1_000_000,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp_ms": -1 if timestamp_ms is None or timestamp_ms < 0 else timestamp_ms,
        "reason": _code(reason),
        "detail": _clip(reason, _DETAIL_CHARS) or "no reason given",
        "original_b64": base64.b64encode(kept).decode("ascii"),
        "original_size": len(original),
        "truncated": len(kept) < len(original),
    })


def _check_role(role: str) -> None:
    if role not in DEFAULT_TOPICS:
        raise UsageError(f"unknown topic role {role!r}; known roles: {', '.join(DEFAULT_TOPICS)}")


def _schema_text(name: str) -> str:
    return (files("mediagrid.schemas") / _SCHEMA_DIR / name).read_text(encoding="utf-8")


@cache
def _registry() -> jsonschema_rs.Registry:
    """Every packaged topic schema by its ``$id``, so that ``$ref`` to common.schema.json never leaves the
    package."""
    folder = files("mediagrid.schemas") / _SCHEMA_DIR
    contents = [json.loads(_schema_text(f.name)) for f in folder.iterdir() if f.name.endswith(".schema.json")]
    return jsonschema_rs.Registry([(c["$id"], c) for c in contents])


@cache
def _validator(role: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(schema(role), registry=_registry())


def _code(reason: str) -> str:
    return next((code for prefix, code in _CODES if reason.startswith(prefix)), "rejected")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_problem(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """orjson reports bad UTF-8 and bad JSON alike; say which, with the position."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not UTF-8: byte {raw[bad.start]:#04x} at offset {bad.start}"
    return f"not JSON: {exc}"


def _schema_problem(errors: Iterator[jsonschema_rs.ValidationError]) -> str:
    """``field.path: message`` of the first error, preferring a concrete one over "unknown field": when a
    branch fails, its fields also count as unevaluated, which is a consequence and not the cause."""
    found = list(errors)
    error = next((e for e in found if e.kind.name not in _UNKNOWN_FIELDS), found[0])
    path, message = _explain(error)
    return f"{format_path(path)}: {message}"


def _explain(error: jsonschema_rs.ValidationError) -> tuple[tuple[str | int, ...], str]:
    name, detail, value = error.kind.name, error.kind.as_dict(), error.instance
    path = tuple(error.instance_path)
    if name == "required":
        return (*path, detail["property"]), "required field is missing"
    if name in _UNKNOWN_FIELDS:
        more = len(detail["unexpected"]) - 1
        return (*path, detail["unexpected"][0]), "unknown field" + (f" (and {more} more)" if more else "")
    if name == "falseSchema":  # a field that a schema names only to forbid it
        return path, "unknown field"
    if name == "type":
        return path, f"expected {' or '.join(detail['types'])}, got {_json_type(value)} {_show(value)}"
    if name == "enum":
        return path, f"must be one of {', '.join(_show(o) for o in detail['options'])}; got {_show(value)}"
    if name == "const":
        return path, f"must be {_show(detail['expected_value'])}; got {_show(value)}"
    if name in _BOUNDS:
        return path, f"must be {_BOUNDS[name]} {detail['limit']}; got {_show(value)}"
    if name in ("minLength", "maxLength", "minItems", "maxItems") and isinstance(value, str | list):
        unit = "characters" if name.endswith("Length") else "items"
        least = "at least" if name.startswith("min") else "at most"
        return path, f"must have {least} {detail['limit']} {unit}; got {len(value)}"
    if name == "pattern":
        return path, f"{_show(value)} does not match {detail['pattern']}"
    return path, error.message


def _show(value: Any) -> str:
    """A value as JSON text, shortened: a reason must stay one readable line whatever the message held."""
    return _clip(orjson.dumps(value).decode(), _SHOWN_CHARS)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "null")
