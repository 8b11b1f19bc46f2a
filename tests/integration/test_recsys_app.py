"""The recommendation app end to end: a real broker, a real Triton server, `mediagrid run` processes.

Each test owns its topics and group. Requests carry a long deadline here (the app takes seconds to start
and the requests are produced before it is up); the deadline ladder itself is tested in
tests/unit/test_recsys_worker.py.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from mediagrid.kafka.topics import decode, encode
from tests.integration.conftest import unique_topic
from tests.integration.kafka_helpers import commerce_values, produce, read_topic, start_ingest, stop_ingest
from tests.integration.test_recsys_triton import MODELS, VENV, require_triton_venv, start_triton

pytestmark = pytest.mark.integration


def recsys_config(tmp: Path, bootstrap: str, t: dict[str, str], triton: str, **encoder: object) -> Path:
    path = tmp / "recsys.yaml"
    extra = "".join(f", {k}: {v}" for k, v in encoder.items())
    path.write_text(f"""
app: recsys_rerank
node: {{id: edge-test-1, site: test, jurisdiction: EU}}
device: cpu
kafka:
  bootstrap: "{bootstrap}"
  group: {t['group']}
  topics: {{commerce.requests: {t['requests']}, commerce.recommendations: {t['answers']}}}
  dead_letter_topic: {t['dlq']}
  commit_interval_ms: 100
  session_timeout_ms: 3000
  fetch_max_wait_ms: 5
deadlines: {{request_ms: 30000, policy: degrade}}
recsys:
  catalog: {{items: 10000, clusters: 200}}
  index: {{kind: ivf, nprobe: 8, degraded_nprobe: 2}}
  encoder: {{triton: "{triton}", model_repository: "{MODELS}", timeout_ms: 2000{extra}}}
""")
    return path


def requests(n: int, seed: int, deadline_ms: float = 30000, age_ms: float = 0) -> list[tuple[bytes, dict]]:
    values = commerce_values(n, seed)
    for _, value in values:
        value["deadline_ms"] = deadline_ms
        value["requested_at_ms"] -= int(age_ms)
        value["region"] = "eu-west"
    return values


def answers_for(bootstrap: str, topic: str, ids: set[str], proc, timeout_s: float = 60) -> list[dict]:
    return read_topic(bootstrap, topic, lambda got: ids <= {r["request_id"] for r in got} or proc.poll() is not None,
                      timeout_s)


@pytest.fixture
def topics(tansu_broker, create_topic) -> dict[str, str]:
    return dict(requests=create_topic(tansu_broker.bootstrap), answers=unique_topic("recs"),
                dlq=unique_topic("dlq"), group=unique_topic("group"))


def test_requests_in_ranked_recommendations_out(tansu_broker, topics, tmp_path, monkeypatch):
    """Triton started by the app itself (`triton: embedded`); a malformed request goes to the dead letters;
    a request already past its deadline is answered too, as dropped."""
    require_triton_venv()
    monkeypatch.setenv("MEDIAGRID_TRITON_VENV", str(VENV))
    bs = tansu_broker.bootstrap
    fresh, late = requests(200, seed=21), requests(3, seed=22, deadline_ms=150, age_ms=10_000)
    produce(bs, topics["requests"], [(k, encode(v)) for k, v in fresh + late] + [(b"s-1", b'{"v": 1}')])
    proc = start_ingest(recsys_config(tmp_path, bs, topics, "embedded"), tmp_path / "run")
    ids = {v["request_id"] for _, v in fresh + late}
    got = answers_for(bs, topics["answers"], ids, proc)
    dead = read_topic(bs, topics["dlq"], lambda g: len(g) >= 1, 20)
    code, stderr = stop_ingest(proc)
    assert code == 0, stderr
    counts = Counter(r["request_id"] for r in got)
    assert set(counts) == ids and set(counts.values()) == {1}, "every request answered exactly once"
    by_id = {r["request_id"]: r for r in got}
    for _, value in fresh:
        answer = by_id[value["request_id"]]
        decode("commerce.recommendations", encode(answer))
        assert answer["outcome"] == "met" and len(answer["items"]) == value["k"]
        assert answer["source"]["topic"] == topics["requests"]
    assert all(by_id[v["request_id"]]["outcome"] == "dropped" and by_id[v["request_id"]]["items"] == []
               for _, v in late)
    assert len(dead) == 1 and dead[0]["reason"] == "schema"
    summary = json.loads((tmp_path / "run/summary.json").read_text())
    assert summary["end_to_end"]["count"] == 203 and summary["end_to_end"]["dropped"] == 3
    assert summary["stages"]["encode.triton"]["count"] == 200
    assert summary["kafka"]["dead_lettered"] == 1


def test_triton_stopped_mid_run_falls_back_and_counts(tansu_broker, topics, tmp_path):
    server = start_triton()
    bs = tansu_broker.bootstrap
    try:
        config = recsys_config(tmp_path, bs, topics, server.grpc_url, retry_after_ms=100)
        proc = start_ingest(config, tmp_path / "run")
        first = requests(100, seed=31)
        produce(bs, topics["requests"], [(k, encode(v)) for k, v in first])
        answers_for(bs, topics["answers"], {v["request_id"] for _, v in first}, proc)
    finally:
        server.stop()
    second = requests(100, seed=32)
    produce(bs, topics["requests"], [(k, encode(v)) for k, v in second])
    ids = {v["request_id"] for _, v in first + second}
    got = answers_for(bs, topics["answers"], ids, proc)
    time.sleep(0.5)  # let the last deliveries be recorded before the stop
    code, stderr = stop_ingest(proc)
    assert code == 0, stderr
    counts = Counter(r["request_id"] for r in got)
    assert set(counts) == ids and set(counts.values()) == {1}
    assert {r["outcome"] for r in got} == {"met"}  # the fallback runs the same model: full answers
    summary = json.loads((tmp_path / "run/summary.json").read_text())
    stages = summary["stages"]
    assert stages["encode.triton"]["count"] >= 100 and stages["encode.local"]["count"] >= 100
    assert summary["end_to_end"]["count"] == 200
    events = [json.loads(line) for line in (tmp_path / "run/events.jsonl").read_text().splitlines()]
    assert Counter(e["encoder"] for e in events) == Counter(
        {"triton": stages["encode.triton"]["count"], "local": stages["encode.local"]["count"]})
