"""The recommendation app: commerce requests from Kafka -> deadline-aware micro-batches -> query encoder
(Triton) -> FAISS top-K -> re-rank (personal fit, stock and region rules, category diversity) ->
recommendations on Kafka, each with its latency, outcome and the request's source position.

Built for many concurrent viewer sessions on an edge node, where an answer after its deadline (about
200 ms) is worthless: speed over depth. Under overload the worker degrades (cheaper search, then the
cached popular list) rather than answering late; see mediagrid.recsys.worker for the ladder.
"""
from __future__ import annotations

from mediagrid.apps.base import MediagridApp
from mediagrid.errors import UsageError
from mediagrid.operators.kafka import KafkaSinkOp, KafkaSourceOp
from mediagrid.operators.recsys import RecsysIngressOp
from mediagrid.operators.worker_egress import WorkerEgressOp
from mediagrid.recsys.service import open_recsys
from mediagrid.recsys.worker import BatchSettings, RecsysWorker
from mediagrid.runtime.bootstrap import import_holoscan

import_holoscan()
from holoscan.schedulers import GreedyScheduler  # noqa: E402


class RecsysRerankApp(MediagridApp):
    DEADLINE = "request"

    def compose(self) -> None:
        config, ctx = self.mg_config, self.ctx
        own = config.sections["recsys"]
        kafka = ctx.kafka
        if kafka is None:
            raise UsageError(f"{config.path}: recsys_rerank needs a kafka section (requests come from Kafka)")
        parts = open_recsys(own, ctx.resources, ctx.backend.device)
        bridge = kafka.consume([own["input_role"]])
        worker = RecsysWorker(
            encoder=parts.encoder, index=parts.index, reranker=parts.reranker,
            settings=BatchSettings(**own["batching"]), candidates=own["rerank"]["candidates"],
            policy=config.deadlines.policy, output_topic=kafka.topic(own["output_role"]), recorder=ctx.recorder,
            control=ctx.control).start()
        ctx.resources.callback(worker.close)  # after the graph, before the Triton server stops
        source = KafkaSourceOp(self, bridge=bridge, control=ctx.control, max_batch=own["read_batch"], name="kafka_in")
        ingress = RecsysIngressOp(self, worker=worker, max_budget_ns=config.deadlines.budget_ns(self.DEADLINE),
                                  control=ctx.control, name="requests")
        egress = WorkerEgressOp(self, worker=worker, control=ctx.control, name="answers")
        sink = KafkaSinkOp(self, checkpoint=bridge.checkpoint, recorder=ctx.recorder, control=ctx.control,
                           name="kafka_out")
        # Default ports (capacity 1, back-pressure): a burst waits in the consumer bridge's bounded queue,
        # where the consumer pauses, and in the worker's EDF queue, where admission sees it.
        self.add_flow(source, ingress, {("items", "items")})
        self.add_flow(egress, sink, {("out", "out")})
        self.scheduler(GreedyScheduler(self, stop_on_deadlock=True, name="greedy"))
