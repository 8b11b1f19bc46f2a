"""The serving worker without Kafka: every request answered exactly once with its outcome, and the
overload ladder (reduced search, popular list, dropped) taken when the deadline says so."""
from __future__ import annotations

import threading
import time
from collections import Counter

import numpy as np
import pytest

from mediagrid.kafka.consumer import KafkaItem
from mediagrid.kafka.topics import decode
from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.recsys.worker import BatchSettings, RecsysWorker, parse_requests
from mediagrid.runtime.clock import now_ns
from mediagrid.runtime.control import RunControl
from mediagrid.recsys.catalog import CatalogSpec, generate_catalog
from mediagrid.recsys.query_encoder import EncoderUnavailable, FallbackEncoder, LocalEncoder
from mediagrid.recsys.index_store import FaissIndex, IndexSpec, build_index
from mediagrid.recsys.ranking import Reranker, RerankSettings
from tests.conftest import REPO
from tests.integration.kafka_helpers import commerce_values

BUDGET_NS = 200_000_000


@pytest.fixture(scope="module")
def parts():
    catalog = generate_catalog(CatalogSpec(items=4000, clusters=50))
    spec = IndexSpec(nlist=32, nprobe=8, degraded_nprobe=1)
    return catalog, FaissIndex(build_index(catalog.vectors, spec), spec), LocalEncoder(REPO / "models")


def items(n: int, *, age_ms: float = 0, deadline_ms: float = 150, seed: int = 1) -> list[KafkaItem]:
    out = []
    for offset, (key, value) in enumerate(commerce_values(n, seed)):
        value["requested_at_ms"] = int(time.time() * 1000 - age_ms)
        value["deadline_ms"] = deadline_ms
        value["region"] = "eu-west"
        out.append(KafkaItem("commerce.requests", "mg.commerce.requests", 0, offset, value["requested_at_ms"], key,
                             value, now_ns(), now_ns()))
    return out


def serve(parts, requests, *, settings=BatchSettings(), policy="degrade", encoder=..., control=None):
    catalog, index, local = parts
    encoder = FallbackEncoder(local, None) if encoder is ... else encoder
    done = threading.Event()
    answers = []
    worker = RecsysWorker(encoder=encoder, index=index, reranker=Reranker(catalog, RerankSettings()),
                          settings=settings, candidates=50, policy=policy, output_topic="mg.commerce.recommendations",
                          recorder=OutcomeRecorder(200), control=control or RunControl())

    def collect():
        answers.extend(worker.take()[0] or [])
        if len(answers) >= len(requests):
            done.set()

    worker.on_ready = collect
    worker.start()
    try:
        worker.submit(parse_requests(requests, BUDGET_NS))
        assert done.wait(20), f"only {len(answers)} of {len(requests)} answered"
        assert worker.drained(quiet_ns=0) or worker.take() == (None, False)
    finally:
        worker.close()
    return worker, answers


def bodies(answers):
    return [decode("commerce.recommendations", a.record.value) for a in answers]


def test_every_request_answered_once_with_ranked_items(parts):
    requests = items(120)
    worker, answers = serve(parts, requests)
    got = bodies(answers)
    assert sorted(b["request_id"] for b in got) == sorted(i.value["request_id"] for i in requests)
    assert {b["outcome"] for b in got} <= {"met", "degraded"} and worker.levels["full"] > 0
    for body, answer in zip(got, answers):
        assert len(body["items"]) == 10 and body["source"]["topic"] == "mg.commerce.requests"
        assert [x["score"] for x in body["items"]] == sorted((x["score"] for x in body["items"]), reverse=True)
        assert answer.record.key == answer.inputs[0].key and answer.fields["level"] in ("full", "reduced")
    assert sum(worker.levels.values()) == 120


def test_request_already_past_its_deadline_is_answered_dropped(parts):
    worker, answers = serve(parts, items(5, age_ms=1000, deadline_ms=150))
    got = bodies(answers)
    assert [b["outcome"] for b in got] == ["dropped"] * 5 and all(b["items"] == [] for b in got)
    assert all(a.dropped and a.fields["level"] == "none" for a in answers)


def test_overload_degrades_to_the_cheaper_search(parts):
    """The full search is estimated at 400 ms per request (> the 150 ms deadline), the reduced one fits."""
    settings = BatchSettings(item_ms=400, degraded_item_ms=0.1, encode_ms=1)
    worker, answers = serve(parts, items(20), settings=settings)
    assert {a.fields["level"] for a in answers} == {"reduced"} and all(a.degraded for a in answers)
    assert {b["outcome"] for b in bodies(answers)} == {"degraded"}
    assert all(len(b["items"]) == 10 for b in bodies(answers))


def test_overload_beyond_the_cheaper_search_serves_the_popular_list(parts):
    settings = BatchSettings(item_ms=400, degraded_item_ms=300, encode_ms=1)
    worker, answers = serve(parts, items(20), settings=settings)
    assert {a.fields["level"] for a in answers} == {"popular"}
    got = bodies(answers)
    assert {b["outcome"] for b in got} == {"degraded"} and all(len(b["items"]) == 10 for b in got)
    catalog = parts[0]
    rows = [int(x["item_id"].split("-")[1]) for x in got[0]["items"]]
    assert catalog.allowed(np.array(rows), "eu-west").all()


def test_policy_drop_answers_empty_instead(parts):
    settings = BatchSettings(item_ms=400, degraded_item_ms=300, encode_ms=1)
    _, answers = serve(parts, items(5), settings=settings, policy="drop")
    assert {b["outcome"] for b in bodies(answers)} == {"dropped"}


def test_no_encoder_at_all_still_answers_from_the_popular_list(parts):
    class Down:
        name = "triton"

        def encode(self, x):
            raise EncoderUnavailable("gone")

    worker, answers = serve(parts, items(10), encoder=FallbackEncoder(Down(), None))
    assert {a.fields["level"] for a in answers} == {"popular"} and worker.levels["popular"] == 10


def test_a_stopping_run_answers_its_backlog_at_once(parts):
    """After a stop request nobody waits for searches: the popular list (or dropped, if late) for all."""
    control = RunControl()
    control.request_stop("interrupt")
    worker, answers = serve(parts, items(30) + items(2, age_ms=1000, seed=2), control=control)
    assert Counter(a.fields["level"] for a in answers) == {"popular": 30, "none": 2}
