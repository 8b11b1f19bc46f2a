"""Deliberately broken messages, to exercise every rejection path of a consumer.

With ``malformed_every=K`` the K-th, 2K-th, ... message of a run (counted across topics) is replaced by a
broken copy of itself, sent to the same topic at the same time with the same key. The kinds of breakage
take turns in the order of :data:`KINDS`, so any 7 consecutive broken messages cover them all.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from mediagrid.kafka.topics import encode
from mediagrid.scenarios.message import Message

#: Longer than any bounded text field of any topic schema, far shorter than a Kafka record may be.
OVERSIZE_CHARS = 70_000


class Outgoing(NamedTuple):
    """A message ready for Kafka: its bytes, and which breakage it carries (None for a valid one)."""

    role: str
    key: bytes | None
    payload: bytes
    timestamp_ms: int
    send_at_s: float
    malformed: str | None


def _not_json(value: dict[str, Any]) -> bytes:
    return repr(value).encode()  # a Python dict's repr: the classic str() instead of json.dumps


def _truncated_json(value: dict[str, Any]) -> bytes:
    text = encode(value)
    return text[: len(text) // 2]


def _wrong_type(value: dict[str, Any]) -> bytes:
    when = datetime.fromtimestamp(value["ts_ms"] / 1000, UTC).isoformat()
    return encode({**value, "ts_ms": when})


def _missing_field(value: dict[str, Any]) -> bytes:
    return encode({k: v for k, v in value.items() if k != "v"})


def _oversize(value: dict[str, Any]) -> bytes:
    field = next(k for k, v in value.items() if isinstance(v, str))  # every topic has a top-level id
    return encode({**value, field: "x" * OVERSIZE_CHARS})


def _not_utf8(value: dict[str, Any]) -> bytes:
    text = encode(value)
    start = text.index(b':"') + 2  # inside the first text value, a Latin-1 byte as an old encoder writes it
    return text[:start] + "é".encode("latin-1") + text[start:]


def _unknown_kind(value: dict[str, Any]) -> bytes:
    return encode({**value, "kind": "teleport"})  # a kind telemetry does not know; a field other topics lack


#: breakage name -> how to break a message; what decode should say is in tests/unit/test_topics.py
KINDS: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "not_json": _not_json,
    "truncated_json": _truncated_json,
    "wrong_type": _wrong_type,
    "missing_field": _missing_field,
    "oversize": _oversize,
    "not_utf8": _not_utf8,
    "unknown_kind": _unknown_kind,
}


def corrupt(value: dict[str, Any], kind: str) -> bytes:
    """``value`` encoded with the breakage ``kind`` (one of :data:`KINDS`)."""
    return KINDS[kind](value)


def encode_all(messages: Iterable[Message], malformed_every: int | None = None) -> Iterator[Outgoing]:
    """Messages as Kafka payloads; with ``malformed_every`` every K-th one broken, kinds taking turns."""
    names = list(KINDS)
    broken = 0
    for n, message in enumerate(messages, start=1):
        role, key, value, at = message
        kind = None
        if malformed_every and n % malformed_every == 0:
            kind = names[broken % len(names)]
            broken += 1
        payload = encode(value) if kind is None else corrupt(value, kind)
        yield Outgoing(role, key, payload, value["ts_ms"], at, kind)
