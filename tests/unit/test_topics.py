"""Topic schemas and the decoder: good messages pass, every kind of bad one is refused with a clear reason."""
from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from mediagrid.errors import MediagridError, UsageError
from mediagrid.kafka.topics import (
    DEFAULT_TOPICS,
    DLQ_KEEP_BYTES,
    InvalidMessage,
    dead_letter,
    decode,
    encode,
    schema,
    topic_name,
)
from mediagrid.scenarios.malformed import KINDS, corrupt
from mediagrid.scenarios.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
TOPIC_SCHEMAS = REPO / "schemas" / "topics"
EPOCH_MS = 1_767_225_600_000

#: One message per topic that mediagrid itself produces: the first example in its schema.
EXAMPLES: dict[str, dict[str, Any]] = {
    role: schema(role)["examples"][0]
    for role in ("commerce.recommendations", "captions", "grid.node-status", "grid.placements")
}

#: breakage -> (InvalidMessage.code, start of the reason) for a telemetry message
EXPECTED = {
    "not_json": ("not_json", "not JSON: "),
    "truncated_json": ("not_json", "not JSON: unexpected end of data"),
    "wrong_type": ("schema", "schema: ts_ms: expected integer, got string"),
    "missing_field": ("schema", "schema: v: required field is missing"),
    "oversize": ("schema", "schema: match_id: must have at most 64 characters; got 70000"),
    "not_utf8": ("not_utf8", "not UTF-8: byte 0xe9 at offset"),
    "unknown_kind": ("schema", 'schema: kind: must be one of "frame", "clock", "score", "event"; got "teleport"'),
}


@pytest.fixture(scope="module")
def generated() -> list[tuple[str, dict[str, Any]]]:
    """A few thousand (role, value) pairs from the shipped football scenario: every kind of message."""
    scenario = load_scenario(REPO / "configs" / "scenarios" / "football-match.yaml")
    return [(m.role, m.value) for m in scenario.messages(EPOCH_MS)]


def _reason(role: str, raw: bytes, **kwargs: Any) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as caught:
        decode(role, raw, **kwargs)
    return caught.value


def test_every_role_has_a_valid_draft_2020_12_schema_named_after_its_topic() -> None:
    files = {p.name for p in TOPIC_SCHEMAS.glob("*.schema.json")}
    assert files == {f"{t}.schema.json" for t in DEFAULT_TOPICS.values()} | {"common.schema.json"}
    for path in TOPIC_SCHEMAS.glob("*.schema.json"):
        document = json.loads(path.read_text())
        Draft202012Validator.check_schema(document)
        assert document["$id"] == f"https://mediagrid.invalid/schemas/topics/{path.name}"
    for role, topic in DEFAULT_TOPICS.items():
        assert schema(role)["title"].startswith(f"{topic}:")
        assert schema(role)["$ref"] == "common.schema.json#/$defs/envelope"


def _subschemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            yield from _subschemas(item)


def test_every_text_and_list_is_bounded() -> None:
    for path in TOPIC_SCHEMAS.glob("*.schema.json"):
        for sub in _subschemas(json.loads(path.read_text())):
            if sub.get("type") == "string":
                assert "maxLength" in sub, (path.name, sub)
            if sub.get("type") == "array":
                assert "maxItems" in sub, (path.name, sub)


def test_generated_messages_of_every_kind_decode(generated: list[tuple[str, dict[str, Any]]]) -> None:
    kinds = {(role, value.get("kind"), value.get("event")) for role, value in generated}
    assert {("sports.telemetry", "frame", None), ("sports.telemetry", "clock", None),
            ("sports.telemetry", "score", None), ("sports.telemetry", "event", "goal"),
            ("sports.telemetry", "event", "substitution"), ("sports.telemetry", "event", "possession"),
            ("ads.decisions", None, None), ("commerce.requests", None, None)} <= kinds
    assert len(generated) > 2000
    for role, value in generated:
        assert decode(role, encode(value)) == value


@pytest.mark.parametrize("role", list(DEFAULT_TOPICS))
def test_the_examples_in_each_schema_decode(role: str) -> None:
    examples = schema(role)["examples"]
    assert examples
    for example in examples:
        assert decode(role, encode(example)) == example


def test_the_reference_validator_agrees(generated: list[tuple[str, dict[str, Any]]]) -> None:
    """The Python jsonschema implementation of Draft 2020-12 judges a sample the same way as the decoder."""
    registry = Registry().with_resources(
        (d["$id"], Resource.from_contents(d)) for d in (json.loads(p.read_text()) for p in TOPIC_SCHEMAS.iterdir()))
    sample = [*EXAMPLES.items(), *generated[:: max(1, len(generated) // 40)]]
    for role, value in sample:
        reference = Draft202012Validator(schema(role), registry=registry)
        assert reference.is_valid(value)
        for kind in ("wrong_type", "missing_field", "oversize", "unknown_kind"):
            assert not reference.is_valid(json.loads(corrupt(value, kind))), (role, kind)


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_malformed_kind_is_refused_with_its_reason(kind: str, generated: list[tuple[str, dict[str, Any]]]) -> None:
    telemetry = next(v for r, v in generated if r == "sports.telemetry" and v["kind"] == "event")
    error = _reason("sports.telemetry", corrupt(telemetry, kind))
    code, start = EXPECTED[kind]
    assert error.code == code
    assert error.reason.startswith(start), error.reason
    for role, value in [*EXAMPLES.items(), *{r: v for r, v in generated}.items()]:
        assert _reason(role, corrupt(value, kind)).code == code, (role, kind)


def test_reasons_name_the_field_path(generated: list[tuple[str, dict[str, Any]]]) -> None:
    frame = copy.deepcopy(next(v for r, v in generated if r == "sports.telemetry" and v["kind"] == "frame"))
    frame["players"][3]["x"] = 300
    assert _reason("sports.telemetry", encode(frame)).reason == "schema: players[3].x: must be at most 115; got 300"
    del frame["players"][3]["x"]
    assert _reason("sports.telemetry", encode(frame)).reason == "schema: players[3].x: required field is missing"
    request = next(v for r, v in generated if r == "commerce.requests")
    extra = {**request, "context": {**request["context"], "mood": "happy"}}
    assert _reason("commerce.requests", encode(extra)).reason == "schema: context.mood: unknown field"
    assert _reason("commerce.requests", b"[1, 2]").reason == "schema: (root): expected object, got array [1,2]"
    wrong_kind = {**frame, "kind": "clock"}  # a frame's fields do not belong to a clock message
    assert _reason("sports.telemetry", encode(wrong_kind)).reason.startswith("schema: period: required field")


def test_size_limit_is_checked_before_parsing() -> None:
    raw = encode(EXAMPLES["captions"])
    assert decode("captions", raw, max_bytes=len(raw)) == EXAMPLES["captions"]
    error = _reason("captions", raw, max_bytes=len(raw) - 1)
    assert (error.code, error.reason) == ("too_large", f"over the size limit ({len(raw)} > {len(raw) - 1} bytes)")
    assert _reason("captions", b"{" * 2_000_000).code == "too_large"  # the default limit is 1 MiB


def test_strict_json_only() -> None:
    for raw in (b"", b"NaN", b'{"v": 1,}', b"\xef\xbb\xbf{}", encode(EXAMPLES["captions"]).decode().encode("utf-16")):
        assert _reason("captions", raw).code in ("not_json", "not_utf8"), raw
    assert _reason("captions", None).reason == "not JSON: the record has no value"


def test_invalid_message_is_a_mediagrid_error_with_a_bounded_reason() -> None:
    error = _reason("captions", encode({**EXAMPLES["captions"], "x" * 5000: 1}))
    assert isinstance(error, MediagridError)
    assert len(error.reason) <= 500


def test_topic_names_follow_the_config_but_roles_are_fixed() -> None:
    assert topic_name("sports.telemetry") == "mg.sports.telemetry"
    assert topic_name("sports.telemetry", {"sports.telemetry": "staging.telemetry"}) == "staging.telemetry"
    with pytest.raises(UsageError, match="unknown topic role 'sports'"):
        decode("sports", b"{}")


def test_dead_letter_records_where_and_why() -> None:
    raw = b'{"v": 1, "ts_ms": "soon"}'
    reason = _reason("captions", raw).reason
    letter = decode("dlq", dead_letter("mg.captions", 2, 41, EPOCH_MS, raw, reason))
    assert letter["topic"] == "mg.captions" and (letter["partition"], letter["offset"]) == (2, 41)
    assert (letter["timestamp_ms"], letter["reason"], letter["detail"]) == (EPOCH_MS, "schema", reason)
    assert base64.b64decode(letter["original_b64"]) == raw
    assert (letter["original_size"], letter["truncated"]) == (len(raw), False)


def test_dead_letter_of_a_huge_record_keeps_its_start_and_fits() -> None:
    raw = b"\xff" * (3 * DLQ_KEEP_BYTES)
    encoded = dead_letter("mg.captions", 0, 7, None, raw, "over the size limit (786432 > 1000 bytes)")
    letter = decode("dlq", encoded)
    assert len(encoded) < 400_000
    assert base64.b64decode(letter["original_b64"]) == raw[:DLQ_KEEP_BYTES]
    assert (letter["original_size"], letter["truncated"], letter["timestamp_ms"]) == (len(raw), True, -1)
    assert letter["reason"] == "too_large"
    assert decode("dlq", dead_letter("t", 0, 0, 1, b"", "handler crashed"))["reason"] == "rejected"


def test_every_telemetry_kind_is_closed_and_admits_the_shared_fields() -> None:
    telemetry = schema("sports.telemetry")
    shared = {"v", "ts_ms", *telemetry["properties"]}
    for example in telemetry["examples"]:
        kind = example["kind"]
        properties = telemetry["$defs"][kind]["properties"]
        assert {name for name, sub in properties.items() if sub is True} == shared, kind
        error = _reason("sports.telemetry", encode({**example, "colour": "red"}))
        assert error.reason == "schema: colour: unknown field", kind
