"""Decode + validate throughput per Kafka topic, on one core of this machine.

    .venv/bin/python perf/topic_decode.py [--seconds 0.5] [--reference]

For each topic role, a typical message (a full 22-player frame for telemetry, the schema's first example
elsewhere) goes through ``mediagrid.kafka.topics.decode`` (orjson + jsonschema-rs) over and over; the best
of three timed batches counts. ``--reference`` also times stdlib json + the Python jsonschema validator, the
alternative that the decoder replaced. Prints msgs/s per topic and writes perf/results/topic_decode.json
and .md; each run records the load average it ran under, since the machine is shared and noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from mediagrid.kafka.topics import DEFAULT_TOPICS, decode, encode, schema
from mediagrid.scenarios import match_messages

REPO = Path(__file__).resolve().parents[1]
TARGET_PER_S = 50_000


def typical_messages() -> dict[str, dict[str, Any]]:
    """role -> a message of the size that role usually carries."""
    frame = next(m.value for m in match_messages(1, 1_767_225_600_000, 1.0, id="bench", home="Home", away="Away",
                                                 start_minute=10, speed=1) if m.value["kind"] == "frame")
    return {"sports.telemetry": frame, **{role: schema(role)["examples"][0] for role in DEFAULT_TOPICS
                                           if role != "sports.telemetry"}}


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``work``: best of three batches sized to last about ``seconds`` each."""
    n, start = 1, time.perf_counter()
    while time.perf_counter() - start < seconds / 10:
        work()
        n += 1
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n * 10):
            work()
        best = min(best, time.perf_counter() - start)
    return n * 10 / best


def reference_decoder() -> Callable[[str, bytes], object]:
    folder = REPO / "schemas" / "topics"
    documents = [json.loads(p.read_text()) for p in folder.glob("*.schema.json")]
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in documents)
    validators = {role: Draft202012Validator(schema(role), registry=registry) for role in DEFAULT_TOPICS}
    return lambda role, raw: validators[role].validate(json.loads(raw.decode("utf-8")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one timed batch")
    parser.add_argument("--reference", action="store_true", help="also time json + jsonschema (slow)")
    parser.add_argument("--results", type=Path, default=REPO / "perf" / "results")
    args = parser.parse_args()

    reference = reference_decoder() if args.reference else None
    load_before = os.getloadavg()[0]
    topics: dict[str, dict[str, int]] = {}
    for role, value in typical_messages().items():
        raw = encode(value)
        row = {"bytes": len(raw), "decode_per_s": round(rate(partial(decode, role, raw), args.seconds)),
               "parse_only_per_s": round(rate(partial(orjson.loads, raw), args.seconds))}
        if reference is not None:
            row["json_jsonschema_per_s"] = round(rate(partial(reference, role, raw), args.seconds / 5))
        topics[DEFAULT_TOPICS[role]] = row
    load = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    decoder = f"orjson {version('orjson')} + jsonschema-rs {version('jsonschema-rs')}"
    result = {
        "benchmark": "topic_decode", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "decoder": decoder, "target_per_s": TARGET_PER_S, "topics": topics, "loadavg_1m": load,
        "cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
    }
    header = "| topic | bytes | decode+validate msg/s | orjson parse only msg/s |"
    header += " json+jsonschema msg/s |" * bool(reference)
    lines = [
        f"topic decode on {os.cpu_count()} CPUs, one core used (load {load['before']} -> {load['after']}); "
        f"decoder: {decoder}",
        "", header, "|---|---:|---:|---:|" + "---:|" * bool(reference),
        *(f"| {topic} | {r['bytes']} | {r['decode_per_s']:,} | {r['parse_only_per_s']:,} |"
          + (f" {r['json_jsonschema_per_s']:,} |" if reference else "") for topic, r in topics.items()),
    ]
    print("\n".join(lines))
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "topic_decode.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.results / "topic_decode.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
