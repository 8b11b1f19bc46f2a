"""Recommendation serving inside a Holoscan graph: deadline-aware micro-batches of commerce requests are
encoded (Triton), searched (FAISS) and re-ranked on a worker thread, never on a scheduler thread.

Graph: ``KafkaSourceOp -> RecsysIngressOp`` hands parsed requests to the :class:`RecsysWorker`;
``WorkerEgressOp -> KafkaSinkOp`` emits the worker's answers when its ``AsynchronousCondition`` says some
are ready, and the sink records each outcome; the consumer's checkpoint commits a request once its answer
is durable.

The worker orders requests earliest-deadline-first with admission control (:class:`EDFQueue`), and asks
:func:`plan_batch` how many to serve as one batch: a batch grows only while the earliest deadline in it
still allows, and a request never waits longer than ``max_wait_ms`` for company. Service times are learned
online (:class:`ServiceTimeEstimator`: one for the encoder call per batch, one per item at each search
effort). Under overload, answers get cheaper instead of late, one rung at a time, each counted:

========== ======================================================= ===================
level      what the request gets                                   outcome
========== ======================================================= ===================
full       encoder, full-effort search, re-rank                    met (missed if late)
reduced    encoder, cheaper search (smaller nprobe / efSearch)     degraded
popular    its region's cached popular list (no encoder, no search) degraded
none       an empty list: its deadline had passed on arrival,       dropped
           or the policy is ``drop``
========== ======================================================= ===================

Every request delivered to this node is answered exactly once per delivery, dropped ones included (with
an empty list, as the recommendations topic's schema says), so the viewer's app can stop waiting.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from mediagrid.kafka.consumer import KafkaItem
from mediagrid.kafka.outgoing import Outgoing
from mediagrid.kafka.producer import OutRecord
from mediagrid.kafka.topics import encode
from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.recsys.catalog import row_ids
from mediagrid.recsys.index_store import VectorIndex
from mediagrid.recsys.query_encoder import EncoderUnavailable, FallbackEncoder, context_tokens, hash_feature_rows
from mediagrid.recsys.ranking import Ranked, Reranker
from mediagrid.runtime.clock import NS_PER_MS, NS_PER_S, ms_to_ns, now_ns, ns_to_ms, wall_to_monotonic_ns
from mediagrid.runtime.control import RunControl
from mediagrid.scheduler import (
    Action, BatchModel, Deadline, EDFQueue, Policy, ServiceTimeEstimator, classify, plan_batch,
)

FULL, REDUCED, POPULAR, NONE = "full", "reduced", "popular", "none"
#: Estimate quantiles. The encoder call is one per batch and its tail is what delays a whole batch: a
#: high quantile. Per-item costs are measured as a batch's search + re-rank time over its size, so one
#: preempted small batch would read as a huge per-item cost at a high quantile and make admission refuse
#: what the node can serve: the median, and the fixed part's high quantile covers the tail.
_FIXED_Q, _ITEM_Q = 0.9, 0.5
_QUIET_NS = 100 * NS_PER_MS  # after a stop request, the worker must be idle this long before the egress ends
_SCORE_DIGITS = 5


@dataclass(frozen=True)
class BatchSettings:
    """From the config's ``recsys.batching`` section; the ``*_ms`` values are priors until measured."""

    max_batch: int = 64
    max_wait_ms: float = 1.0
    encode_ms: float = 5.0
    item_ms: float = 0.3
    degraded_item_ms: float = 0.1


@dataclass(slots=True)
class Request:
    """A valid commerce request on its way through the worker."""

    item: KafkaItem
    item_id: str
    deadline: Deadline
    features: np.ndarray

    @property
    def value(self) -> dict[str, Any]:
        return self.item.value


def parse_requests(items: Sequence[KafkaItem], max_budget_ns: int) -> list[Request]:
    """Requests with their deadlines: ``deadline_ms`` after ``requested_at_ms`` (on this node's monotonic
    clock), but never more than the node's own budget ``max_budget_ns``."""
    offset = wall_to_monotonic_ns(0)  # one clock reading per batch
    contexts = [(item.value, item.value["context"]) for item in items]
    features = hash_feature_rows([context_tokens(c["category"], c["scene_tags"], v["region"], c["stream_id"],
                                                 v["user_id"]) for v, c in contexts])
    requests = []
    for item, row in zip(items, features):
        v = item.value
        origin = offset + v["requested_at_ms"] * NS_PER_MS
        budget = min(ms_to_ns(v["deadline_ms"]), max_budget_ns)
        requests.append(Request(item, item.item_id,
                                Deadline(origin, origin + max(budget, 1)), row))
    return requests


class RecsysWorker:
    """The serving thread: admission, EDF order, micro-batches, encode + search + re-rank, answers.

    Thread-safe entry points: :meth:`submit` (from the ingress operator), :meth:`take` and
    :meth:`drained` (from the egress operator), :meth:`close`.
    """

    def __init__(self, *, encoder: FallbackEncoder, index: VectorIndex, reranker: Reranker,
                 settings: BatchSettings, candidates: int, policy: Policy | str, output_topic: str,
                 recorder: OutcomeRecorder, control: RunControl) -> None:
        self.encoder = encoder
        self.index = index
        self.reranker = reranker
        self.settings = settings
        self.candidates = candidates
        self.policy = Policy(policy)
        self.output_topic = output_topic
        self.recorder = recorder
        self.control = control
        self.on_ready: Callable[[], None] = lambda: None  # the egress operator's wake-up
        self.levels: dict[str, int] = {FULL: 0, REDUCED: 0, POPULAR: 0, NONE: 0}
        self._edf: EDFQueue[Request] = EDFQueue(self.policy)
        self._encode_est = ServiceTimeEstimator(prior_ns=ms_to_ns(settings.encode_ms))
        self._item_est = {False: ServiceTimeEstimator(prior_ns=ms_to_ns(settings.item_ms)),
                          True: ServiceTimeEstimator(prior_ns=ms_to_ns(settings.degraded_item_ms))}
        self._cv = threading.Condition()
        self._arrivals: list[Request] = []
        self._answers: list[Outgoing] = []
        self._busy = False
        self._last_activity_ns = now_ns()
        self._first_queued_ns: int | None = None
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="recsys-worker", daemon=True)

    # -- entry points (any thread) -----------------------------------------------------------------------
    def start(self) -> RecsysWorker:
        # Process-wide: OpenBLAS's worker threads make the encoder's small matmuls several times slower on a
        # busy node with few cores (they spin against the graph and the broker); one thread per call is fastest.
        threadpool_limits(1, user_api="blas")
        self.reranker.warm()
        self.control.add_stop_hook(self._notify)
        self._thread.start()
        return self

    def submit(self, requests: list[Request]) -> None:
        if requests:
            with self._cv:
                self._arrivals.extend(requests)
                self._last_activity_ns = now_ns()
                self._cv.notify()

    def take(self) -> tuple[list[Outgoing] | None, bool]:
        """For the egress operator: (answers to emit or None, whether the stream is over). It is over once a
        stop was requested and the worker has been idle for a moment (nothing more will be submitted)."""
        with self._cv:
            answers, self._answers = self._answers, []
        over = self.control.stop_requested.is_set() and self.drained()
        return answers or None, over

    def drained(self, quiet_ns: int = _QUIET_NS) -> bool:
        """Nothing queued, in service or waiting to be taken, and nothing submitted for ``quiet_ns``."""
        with self._cv:
            idle = not (self._arrivals or self._answers or self._busy or len(self._edf))
            return idle and now_ns() - self._last_activity_ns >= quiet_ns

    def close(self, timeout_s: float = 10.0) -> None:
        with self._cv:
            self._closing = True
            self._cv.notify()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _notify(self) -> None:
        with self._cv:
            self._cv.notify()

    # -- the serving thread --------------------------------------------------------------------------
    def _run(self) -> None:
        wait_s: float | None = None
        try:
            while True:
                with self._cv:
                    if not self._arrivals and not self._closing:
                        self._cv.wait(wait_s)
                    arrivals, self._arrivals = self._arrivals, []
                    closing = self._closing
                    self._busy = True
                now = now_ns()
                if closing or self.control.stop_requested.is_set():  # the run is ending: answer all, cheaply
                    self._drain(arrivals, now)
                else:
                    # in deadline order, most offers take EDFQueue's O(1) path (no earlier deadline queued)
                    for request in sorted(arrivals, key=lambda r: r.deadline.deadline_ns):
                        self._admit(request, now)
                worked = bool(arrivals) or len(self._edf) > 0
                wait_s = self._step(closing)
                with self._cv:
                    self._busy = False
                    if worked:
                        self._last_activity_ns = now_ns()
                    if closing and not self._arrivals and not len(self._edf):
                        return
                if self.control.stop_requested.is_set():
                    # Once the sources have stopped nothing else wakes the egress: it looks now, and again
                    # after the quiet time, whether the worker is drained (then the stream is over).
                    self.on_ready()
                    wait_s = _QUIET_NS / NS_PER_S if wait_s is None else min(wait_s, _QUIET_NS / NS_PER_S)
        except Exception as exc:  # noqa: BLE001 - handed to the runner, which fails the run cleanly
            self.control.fail(exc)

    def _admit(self, request: Request, now: int) -> None:
        """Queue the request if it can be served in time (perhaps at the cheaper effort), else answer it
        now from the popular list, or drop it when its deadline has already passed."""
        if request.deadline.remaining_ns(now) <= 0:
            self._emit([self._answer(request, None, NONE, "")])
            return
        fixed_share = self._encode_est.estimate_ns(_FIXED_Q) // self.settings.max_batch
        full = self._item_est[False].estimate_ns(_ITEM_Q) + fixed_share
        cheaper = self._item_est[True].estimate_ns(_ITEM_Q) + fixed_share if self.policy is Policy.DEGRADE else None
        admission = self._edf.offer(request, request.deadline, full, now, degraded_estimate_ns=cheaper)
        if admission.admitted:
            if self._first_queued_ns is None:
                self._first_queued_ns = now
            return
        self._emit([self._fallback(request, admission.action)])

    def _drain(self, arrivals: list[Request], now: int) -> None:
        """Once the run is stopping: queued and newly arrived requests get the popular list (or, past their
        deadline, an empty answer) now, so that a stop never waits for a backlog of searches."""
        queued = [job.item for job in iter(lambda: self._edf.pop(now), None)]
        queued += [shed.item for shed in self._edf.take_shed()]
        self._emit([self._fallback(r, Action.REUSE) if r.deadline.remaining_ns(now) > 0
                    else self._answer(r, None, NONE, "") for r in queued + arrivals])

    def _fallback(self, request: Request, action: Action) -> Outgoing:
        """The answer of a request that cannot get a searched one: popular list unless the policy drops."""
        if action is Action.DROP and self.policy is Policy.DROP:
            return self._answer(request, None, NONE, "")
        return self._answer(request, self.reranker.popular(request.value["region"], request.value["k"]),
                            POPULAR, "")

    def _step(self, closing: bool) -> float | None:
        """Serve at most one batch; return how long to wait for more requests (None: until one arrives)."""
        if not len(self._edf):
            self._first_queued_ns = None
            return None
        now = now_ns()
        s = self.settings
        # Admission already placed each queued request at the effort that fits; the plan only bounds the
        # batch, at the cheapest effort any of them may be served with.
        per_item = min(self._item_est[self.policy is Policy.DEGRADE].estimate_ns(_ITEM_Q),
                       self._item_est[False].estimate_ns(_ITEM_Q))
        model = BatchModel(self._encode_est.estimate_ns(_FIXED_Q), per_item)
        plan = plan_batch(self._edf.head_deadlines(s.max_batch), now, model, s.max_batch)
        take = plan.take
        if take == 0 and plan.hopeless == 0 and plan.wait_until_ns is not None:
            first = self._first_queued_ns if self._first_queued_ns is not None else now
            wake = min(plan.wait_until_ns, first + ms_to_ns(s.max_wait_ms))
            if now < wake and not closing:
                return (wake - now) / NS_PER_S
            take = min(len(self._edf), s.max_batch)
        late: list[Request] = []
        for _ in range(plan.hopeless):
            job = self._edf.pop(now)
            if job is not None:
                late.append(job.item)
        jobs = [job for job in (self._edf.pop(now) for _ in range(take)) if job is not None]
        answers = [self._fallback(request, Action.REUSE) for request in late]
        answers += [self._fallback(shed.item, shed.action) for shed in self._edf.take_shed()]
        self._emit(answers)
        self._first_queued_ns = now_ns() if len(self._edf) else None
        if jobs:
            self._serve([job.item for job in jobs], [job.degraded for job in jobs])
        return 0.0 if len(self._edf) else None

    def _serve(self, requests: list[Request], degraded: list[bool]) -> None:
        started = now_ns()
        try:
            queries, source = self.encoder.encode_with_source(np.stack([r.features for r in requests]))
        except EncoderUnavailable:
            self._emit([self._fallback(r, Action.REUSE) for r in requests])
            return
        encoded = now_ns()
        n, width = len(requests), self.candidates
        similarity = np.empty((n, width), dtype=np.float32)
        candidates = np.empty((n, width), dtype=np.int64)
        search_ns = {False: 0, True: 0}
        for effort in (False, True):
            rows = [i for i, d in enumerate(degraded) if d is effort]
            if rows:
                t0 = now_ns()
                similarity[rows], candidates[rows] = self.index.search(queries[rows], width, degraded=effort)
                search_ns[effort] = now_ns() - t0
        searched = now_ns()
        values = [r.value for r in requests]
        ranked = self.reranker.rerank(similarity, candidates, [v["user_id"] for v in values],
                                      [v["region"] for v in values], [v["k"] for v in values])
        finished = now_ns()
        rerank_item_ns = (finished - searched) // n
        self._encode_est.update(encoded - started)
        for effort, spent in search_ns.items():
            count = sum(1 for d in degraded if d is effort)
            if count:
                self._item_est[effort].update(spent // count + rerank_item_ns)
        # fetch: broadcaster's send -> read by this node; queue: -> its batch starts (bridge, graph, EDF wait)
        path = ("fetch", "queue", f"encode.{source}", "search", "rerank")
        answers = []
        for request, result, cheaper in zip(requests, ranked, degraded):
            marks = (request.deadline.origin_ns, request.item.received_ns, started, encoded, searched, finished)
            self.recorder.stage_path(request.item_id, request.deadline, path, marks, degraded=cheaper)
            answers.append(self._answer(request, result, REDUCED if cheaper else FULL, source))
        self._emit(answers)

    def _answer(self, request: Request, ranked: Ranked | None, level: str, encoder: str) -> Outgoing:
        """The recommendation record; its outcome is the one known as it leaves (the run summary also
        counts the time to delivery)."""
        finished = now_ns()
        degraded, dropped = level in (REDUCED, POPULAR), level == NONE
        outcome = classify(finished, request.deadline, degraded=degraded, dropped=dropped)
        v, item = request.value, request.item
        items = [] if ranked is None else [
            {"item_id": item_id, "score": score}
            for item_id, score in zip(row_ids(ranked.rows), [round(x, _SCORE_DIGITS) for x in ranked.scores.tolist()])]
        body = {"v": 1, "ts_ms": time.time_ns() // NS_PER_MS, "request_id": v["request_id"], "items": items,
                "latency_ms": round(max(ns_to_ms(finished - request.deadline.origin_ns), 0.0), 3),
                "outcome": outcome.value, "source": item.source}
        self.levels[level] += 1
        return Outgoing(OutRecord(self.output_topic, encode(body), item.key), [item], request.item_id,
                        request.deadline, degraded, dropped, {"level": level, "encoder": encoder})

    def _emit(self, answers: list[Outgoing]) -> None:
        if answers:
            with self._cv:
                self._answers.extend(answers)
            self.on_ready()


