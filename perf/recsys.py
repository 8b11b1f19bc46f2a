"""Recommendations inside the deadline: recall, service capacity, and end-to-end latency through Kafka.

(Over 400 lines on purpose: one command runs the load generator, the app, the transport floor and the CPU
accounting of every process, so that all its figures come from the same run.)

    .venv/bin/python perf/recsys.py [--items 1000000] [--rates 1000,2000,3000,5000] [--seconds 8]
                                    [--triton embedded|none] [--engine tansu|kafka] [--skip-kafka]
                                    [--floor-rates 1000,2000,3000,4000,5000]

1. Index: the catalog of ``--items`` items (seeded, clustered) and its IVF index (built once, then loaded
   from .cache/indexes). recall@10 of the full and the degraded effort against exact search, for query
   vectors made by the query encoder from realistic requests (not assumed: measured).
2. Service core, no Kafka: the serving worker alone (micro-batcher, encoder, FAISS, re-rank) fed at a
   steady rate from a thread; latency from a request's origin to its answer being ready.
3. End to end: a broker, `mediagrid run configs/recsys_rerank.yaml` as its own process (Triton as its own
   process), and this process producing requests at each rate of ``--rates`` (stamped at send time) and
   reading the answers: latency is request produce time -> recommendation delivered to a consumer. The
   highest rate with at least 99 % of answers full and on time is the sustainable rate; the run then goes
   on at twice that rate (goodput, degraded share, misses). Each wave also reports the CPU microseconds
   per request of the app, its Triton children, the broker and this load generator (from /proc).
4. Transport floor: the same waves through the ingest app, which relays each request unchanged (same two
   Kafka hops, decode and schema check, no serving): what this machine's Kafka path alone sustains.

Everything shares the 2 cores: broker, app, Triton, this load generator and its consumer.
Writes perf/results/recsys.json and .md (recsys_kafka.* with ``--engine kafka``).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HOLOSCAN_LOG_LEVEL", "ERROR")

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402

from mediagrid.kafka import start_broker  # noqa: E402
from mediagrid.kafka.consumer import KafkaItem  # noqa: E402
from mediagrid.kafka.topics import encode  # noqa: E402
from mediagrid.metrics.recorder import OutcomeRecorder  # noqa: E402
from mediagrid.recsys.service import open_index  # noqa: E402
from mediagrid.recsys.worker import BatchSettings, RecsysWorker, parse_requests  # noqa: E402
from mediagrid.runtime.clock import now_ns  # noqa: E402
from mediagrid.runtime.control import RunControl  # noqa: E402
from mediagrid.scenarios.commerce import commerce_requests  # noqa: E402
from mediagrid.recsys.catalog import CatalogSpec, generate_catalog  # noqa: E402
from mediagrid.recsys.query_encoder import FallbackEncoder, LocalEncoder, context_tokens, hash_features  # noqa: E402
from mediagrid.recsys.array_index import recall_at_k  # noqa: E402
from mediagrid.recsys.index_store import exact_search  # noqa: E402
from mediagrid.recsys.ranking import Reranker, RerankSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEADLINE_MS = 200.0
REGIONS = ["eu-west", "eu-central", "us-east", "ap-south"]
NPROBE, DEGRADED_NPROBE = 10, 4


def request_values(n: int, seed: int) -> list[dict[str, Any]]:
    """Requests as the commerce scenario makes them (goal bursts tag them), deadline 200 ms."""
    now = time.time_ns() // 1_000_000
    gen = commerce_requests(seed, now, 1e9, stream_id="match-main", rate_per_s=1000, category="football",
                            deadline_ms=DEADLINE_MS, k=10, sessions=20_000, users=15_000, regions=REGIONS,
                            bursts=[{"at_s": 0, "duration_s": 1e9, "multiplier": 1}])
    values = [m.value for m, _ in zip(gen, range(n))]
    rng = np.random.default_rng(seed)
    tags = ["goal", "replay", "team-home", "team-away", "live", "corner", "save"]
    for value in values:  # vary the on-screen context as a match does
        value["context"]["scene_tags"] = list(rng.choice(tags, size=int(rng.integers(1, 4)), replace=False))
    return values


def features_of(values: list[dict[str, Any]]) -> np.ndarray:
    return np.stack([hash_features(context_tokens(v["context"]["category"], v["context"]["scene_tags"], v["region"],
                                                  v["context"]["stream_id"], v["user_id"])) for v in values])


def pct(values: list[float] | np.ndarray) -> dict[str, float | None]:
    a = np.asarray(values, dtype=float)
    if not a.size:
        return {"p50": None, "p99": None, "max": None}
    return {"p50": round(float(np.percentile(a, 50)), 2), "p99": round(float(np.percentile(a, 99)), 2),
            "max": round(float(a.max()), 2)}


# -- 1. index and recall ------------------------------------------------------------------------------------
def index_phase(items: int) -> tuple[Any, Any, dict[str, Any]]:
    t = time.perf_counter()
    catalog = generate_catalog(CatalogSpec(items=items))
    catalog_s = time.perf_counter() - t
    t = time.perf_counter()
    section = {"kind": "ivf", "nlist": 0, "nprobe": NPROBE, "degraded_nprobe": DEGRADED_NPROBE, "hnsw_m": 32,
               "ef_construction": 80, "ef_search": 64, "degraded_ef_search": 16, "train_size": 200_000,
               "threads": 1, "cache_dir": str(REPO / ".cache/indexes")}
    index = open_index(catalog, section, "cpu")
    index_s = time.perf_counter() - t
    queries = LocalEncoder(REPO / "models").encode(features_of(request_values(2000, seed=5)))
    t = time.perf_counter()
    _, truth = exact_search(catalog.vectors, queries, 10)
    exact_ms = (time.perf_counter() - t) * 1000 / len(queries)
    recall = {effort: round(recall_at_k(index.search(queries, 10, degraded=effort == "degraded")[1], truth), 4)
              for effort in ("full", "degraded")}
    timings = {}
    for effort in ("full", "degraded"):
        single = []
        for q in queries[:300]:
            s = time.perf_counter()
            index.search(q[None, :], 100, degraded=effort == "degraded")
            single.append((time.perf_counter() - s) * 1000)
        s = time.perf_counter()
        for start in range(0, 1024, 64):
            index.search(queries[start:start + 64], 100, degraded=effort == "degraded")
        timings[effort] = {"b1_k100_ms": pct(single), "b64_k100_ms_per_query": round(
            (time.perf_counter() - s) * 1000 / 1024, 4)}
    return catalog, index, {
        "items": items, "catalog_build_s": round(catalog_s, 1), "index": index.description,
        "index_open_s": round(index_s, 1), "nprobe": NPROBE, "degraded_nprobe": DEGRADED_NPROBE,
        "recall_at_10": recall, "exact_search_ms_per_query": round(exact_ms, 2), "search": timings,
    }


# -- 2. the service core alone ------------------------------------------------------------------------------
def service_phase(catalog: Any, index: Any, rate: float, seconds: float) -> dict[str, Any]:
    values = request_values(int(rate * seconds), seed=6)
    ready: dict[str, int] = {}
    done = threading.Event()
    worker = RecsysWorker(encoder=FallbackEncoder(LocalEncoder(REPO / "models"), None), index=index,
                          reranker=Reranker(catalog, RerankSettings()), settings=BatchSettings(), candidates=100,
                          policy="degrade", output_topic="perf", recorder=OutcomeRecorder(DEADLINE_MS),
                          control=RunControl())
    answers: list[Any] = []

    def collect() -> None:
        for answer in worker.take()[0] or []:
            ready[answer.item_id] = now_ns()
            answers.append(answer)
        if len(answers) >= len(values):
            done.set()

    worker.on_ready = collect
    worker.start()
    start = time.monotonic()
    for i in range(0, len(values), 10):  # arrivals in tens, on the rate's schedule
        time.sleep(max(start + i / rate - time.monotonic(), 0))
        stamp = time.time_ns() // 1_000_000
        chunk = []
        for j, value in enumerate(values[i:i + 10], start=i):
            value["requested_at_ms"] = value["ts_ms"] = stamp
            chunk.append(KafkaItem("commerce.requests", "perf", 0, j, stamp, None, value, now_ns(), now_ns()))
        worker.submit(parse_requests(chunk, int(DEADLINE_MS * 1e6)))
    done.wait(30)
    worker.close()
    latency = [(ready[a.item_id] - a.deadline.origin_ns) / 1e6 for a in answers]
    return {"rate": rate, "requests": len(values), "answered": len(answers), "latency_ms": pct(latency),
            "levels": dict(Counter(a.fields["level"] for a in answers))}


# -- 3. end to end through Kafka ----------------------------------------------------------------------------
_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s() -> dict[int, tuple[int, float]]:
    """Every live process: pid -> (parent pid, CPU seconds used so far), from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS)
    return table


def component_cpu_s(components: dict[str, int]) -> dict[str, float]:
    """CPU seconds per named process; a process's descendants that are not named themselves count as
    ``<name> children`` (the app's Triton server and its Python stub)."""
    table = process_cpu_s()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    roots = set(components.values())
    out = {}
    for name, root in components.items():
        out[name] = table.get(root, (0, 0.0))[1]
        stack, below = [p for p in children.get(root, []) if p not in roots], 0.0
        while stack:
            pid = stack.pop()
            below += table[pid][1]
            stack.extend(p for p in children.get(pid, []) if p not in roots)
        if below:
            out[f"{name} children"] = below
    return out


async def create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, num_partitions=3, replication_factor=1) for n in names])
    finally:
        await admin.close()


class Client:
    """Produces requests stamped at send time and reads the answers, on one event loop."""

    def __init__(self, bootstrap: str, requests: str, answers: str) -> None:
        self.bootstrap, self.requests, self.answers = bootstrap, requests, answers
        self.sent_at: dict[str, int] = {}
        self.received: dict[str, tuple[float, dict[str, Any]]] = {}

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=1, acks=1)
        self.consumer = AIOKafkaConsumer(self.answers, bootstrap_servers=self.bootstrap, group_id=None,
                                         auto_offset_reset="earliest", fetch_max_wait_ms=5)
        await self.producer.start()
        await self.consumer.start()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=50)
            now_ms = time.time_ns() / 1e6
            for records in batches.values():
                for record in records:
                    answer = json.loads(record.value)
                    request_id = answer["request_id"] if "request_id" in answer else answer["value"]["request_id"]
                    self.received[request_id] = (now_ms, answer)  # a relayed request (floor) or an answer

    async def send(self, values: list[dict[str, Any]], rate: float) -> float:
        """Send at ``rate`` per second, each stamped as it leaves; returns the rate achieved."""
        start = time.monotonic()
        for i, value in enumerate(values):
            if i % 20 == 0:
                await asyncio.sleep(max(start + i / rate - time.monotonic(), 0))
            stamp = time.time_ns() // 1_000_000
            value["requested_at_ms"] = value["ts_ms"] = stamp
            self.sent_at[value["request_id"]] = stamp
            await self.producer.send(self.requests, encode(value), key=value["session_id"].encode())
        await self.producer.flush()
        return len(values) / (time.monotonic() - start)

    async def wait_for(self, ids: set[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not ids <= self.received.keys():
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self.reader.cancel()
        await self.producer.stop()
        await self.consumer.stop()


def wave_result(client: Client, values: list[dict[str, Any]], rate: float, achieved: float,
                seconds: float) -> dict[str, Any]:
    ids = [v["request_id"] for v in values]
    got = [(rid, client.received[rid]) for rid in ids if rid in client.received]
    delivered = [recv - client.sent_at[rid] for rid, (recv, _) in got]
    outcomes = Counter(answer.get("outcome", "met") for _, (_, answer) in got)  # relayed requests: "met"
    late = sum(1 for d in delivered if d > DEADLINE_MS)
    on_time_full = sum(1 for (_, (_, a)), d in zip(got, delivered)
                       if a.get("outcome", "met") == "met" and d <= DEADLINE_MS)
    on_time_any = sum(1 for (_, (_, a)), d in zip(got, delivered)
                      if a.get("outcome", "met") in ("met", "degraded") and d <= DEADLINE_MS)
    n = len(values)
    return {
        "rate": rate, "achieved_send_rate": round(achieved), "requests": n, "answered": len(got),
        "unanswered": n - len(got), "delivered_latency_ms": pct(delivered),
        "outcomes": dict(outcomes), "late_on_delivery": late,
        "full_on_time_share": round(on_time_full / n, 4), "degraded_share": round(outcomes["degraded"] / n, 4),
        "goodput_per_s": round(on_time_any / seconds), "miss_share": round((n - on_time_any) / n, 4),
    }


def app_config(app: str, tmp: Path, bootstrap: str, topics: dict[str, str], items: int, triton: str) -> Path:
    """The recommendation app, or (``ingest``) the transport floor: the ingest app relays each request
    unchanged to the answers topic (the same two Kafka hops, decode and schema check, no serving)."""
    if app == "ingest":
        output_role = "ingest.relay"
        own = f"""deadlines: {{message_ms: {DEADLINE_MS}, policy: drop}}
ingest: {{roles: [commerce.requests], max_batch: 512}}"""
    else:
        output_role = "commerce.recommendations"
        own = f"""deadlines: {{request_ms: {DEADLINE_MS}, policy: degrade}}
recsys:
  catalog: {{items: {items}}}
  index: {{kind: ivf, nprobe: {NPROBE}, degraded_nprobe: {DEGRADED_NPROBE}, cache_dir: "{REPO / '.cache/indexes'}"}}
  encoder: {{triton: {triton}, model_repository: "{REPO / 'models'}", timeout_ms: 50}}"""
    path = tmp / f"{app}.yaml"
    path.write_text(f"""
app: {app}
node: {{id: edge-perf-1, site: perf, jurisdiction: EU}}
device: cpu
kafka:
  bootstrap: "{bootstrap}"
  group: {topics['group']}
  topics: {{commerce.requests: {topics['requests']}, {output_role}: {topics['answers']}}}
  max_queue: 20000
  fetch_max_wait_ms: 5
{own}
""")
    return path


async def kafka_phase(app: str, bootstrap: str, broker_pid: int | None, items: int, triton: str,
                      rates: list[float], seconds: float, tmp: Path) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    topics = {"requests": f"perf.req.{tag}", "answers": f"perf.rec.{tag}", "group": f"perf-{tag}"}
    await create_topics(bootstrap, [topics["requests"], topics["answers"]])
    out, log = tmp / f"run-{app}", tmp / f"{app}.log"
    with log.open("w") as log_file:  # a file, not a pipe: a full pipe would stall the app's logging thread
        proc = subprocess.Popen(
            [sys.executable, "-m", "mediagrid.cli", "run", str(app_config(app, tmp, bootstrap, topics, items, triton)),
             "--out", str(out), "--no-progress", "--duration", "3600"],
            cwd=REPO, env={**os.environ, "HOLOSCAN_LOG_LEVEL": "ERROR"}, stdout=log_file, stderr=log_file)
    client = Client(bootstrap, topics["requests"], topics["answers"])
    await client.start()
    waves: list[dict[str, Any]] = []
    seed = 100
    try:
        started = time.monotonic()
        while proc.poll() is None:  # the app is up once a probe is answered
            probe = request_values(1, seed=seed)
            seed += 1
            await client.send(probe, 100)
            await client.wait_for({probe[0]["request_id"]}, 1.0)
            if probe[0]["request_id"] in client.received:
                break
            if time.monotonic() - started > 300:
                raise RuntimeError("the app did not answer within 300 s")
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited: {log.read_text()[-3000:]}")
        startup_s = time.monotonic() - started
        await client.send(request_values(2000, seed=seed), 1000)  # warm-up: estimators, caches
        seed += 1
        await asyncio.sleep(2)

        processes = {"app": proc.pid, "load generator": os.getpid(), "broker": broker_pid or 0}

        async def wave(rate: float) -> dict[str, Any]:
            nonlocal seed
            values = request_values(int(rate * seconds), seed=seed)
            seed += 1
            cpu_before, t0 = component_cpu_s(processes), time.monotonic()
            achieved = await client.send(values, rate)
            await client.wait_for({v["request_id"] for v in values}, 10)
            cpu_after = component_cpu_s(processes)
            result = wave_result(client, values, rate, achieved, seconds)
            used = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_after.items()}
            result["cpu_us_per_request"] = {k: round(v * 1e6 / len(values)) for k, v in used.items()}
            # over the wave's span, first send to last answer (not the wait for answers that never came)
            ids = [v["request_id"] for v in values]
            last_ms = max((client.received[i][0] for i in ids if i in client.received), default=None)
            span_s = (last_ms - client.sent_at[ids[0]]) / 1000 if last_ms else time.monotonic() - t0
            result["cores_busy"] = round(sum(used.values()) / max(span_s, 1e-3), 2)
            print(f"  {rate:>6.0f}/s: sent {result['achieved_send_rate']}/s, p50 "
                  f"{result['delivered_latency_ms']['p50']} ms, p99 {result['delivered_latency_ms']['p99']} ms, "
                  f"full on time {result['full_on_time_share']:.1%}, degraded {result['degraded_share']:.1%}, "
                  f"missed {result['miss_share']:.1%}; {result['cores_busy']} cores busy, CPU us/request "
                  f"{result['cpu_us_per_request']}", flush=True)
            await asyncio.sleep(3)  # drain between waves
            return result

        sustainable = None
        for rate in rates:
            result = await wave(rate)
            waves.append(result)
            if result["full_on_time_share"] >= 0.99 and result["achieved_send_rate"] >= 0.95 * rate:
                sustainable = rate
            else:
                break
        overload = await wave(2 * sustainable) if sustainable else None
    finally:
        await client.stop()
        if proc.poll() is None:  # SIGTERM: the runner's clean stop (Holoscan force-exits 3 s after a SIGINT)
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else {}
    return {"app": app, "engine_bootstrap": bootstrap, "triton": triton, "app_startup_s": round(startup_s, 1),
            "seconds_per_wave": seconds, "waves": waves, "sustainable_rate": sustainable, "overload": overload,
            "app_summary_end_to_end": summary.get("end_to_end"), "app_stages": {
                k: {f: v[f] for f in ("count", "p50_ms", "p99_ms")} for k, v in summary.get("stages", {}).items()},
            "app_exit_code": proc.returncode, "app_log_tail": log.read_text()[-1500:] if proc.returncode else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--rates", default="250,500,1000,1500,2000,3000,4000,5000")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--service-rate", type=float, default=5000.0, help="rate of the service-core phase")
    parser.add_argument("--triton", default="embedded", help="embedded | none (in-process encoder)")
    parser.add_argument("--engine", choices=("tansu", "kafka"), default="tansu")
    parser.add_argument("--skip-kafka", action="store_true", help="phases 1 and 2 only")
    parser.add_argument("--floor-rates", default="1000,2000,3000,4000,5000",
                        help="rates of the transport floor (phase 4); empty: skip it")
    args = parser.parse_args()

    print(f"recsys perf: {args.items:,} items, {os.cpu_count()} CPUs", flush=True)
    catalog, index, index_result = index_phase(args.items)
    print(f"  index: {index_result['index']}, opened in {index_result['index_open_s']} s; recall@10 "
          f"{index_result['recall_at_10']}; search {index_result['search']}", flush=True)
    service = service_phase(catalog, index, args.service_rate, 5.0)
    print(f"  service core at {args.service_rate:.0f}/s: {service}", flush=True)
    del catalog, index
    kafka = floor = None
    if not args.skip_kafka:
        phases = [("recsys_rerank", args.rates)] + ([("ingest", args.floor_rates)] if args.floor_rates else [])
        runs = {}
        for app, rates in phases:  # a fresh broker each, so the floor does not inherit the first run's topics
            with start_broker(args.engine) as broker, tempfile.TemporaryDirectory() as tmp:
                runs[app] = asyncio.run(kafka_phase(app, broker.bootstrap, broker.pid, args.items, args.triton,
                                                    [float(r) for r in rates.split(",")], args.seconds, Path(tmp)))
        kafka, floor = runs.get("recsys_rerank"), runs.get("ingest")
    result = {"benchmark": "recsys", "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2), "deadline_ms": DEADLINE_MS,
              "index": index_result, "service_core": service, "end_to_end": kafka, "transport_floor": floor}
    write_results(result, args.engine)


def write_results(result: dict[str, Any], engine: str) -> None:
    ix, sc, e2e, floor = result["index"], result["service_core"], result["end_to_end"], result["transport_floor"]
    lines = [
        f"recsys on {result['cpus']} CPUs (load {result['loadavg_1m']}), {ix['items']:,} items, deadline "
        f"{result['deadline_ms']:.0f} ms",
        f"  index {ix['index']}: recall@10 full (nprobe {ix['nprobe']}) {ix['recall_at_10']['full']}, degraded "
        f"(nprobe {ix['degraded_nprobe']}) {ix['recall_at_10']['degraded']}; exact search "
        f"{ix['exact_search_ms_per_query']} ms/query",
        f"  search k=100 b1 p50/p99 full {ix['search']['full']['b1_k100_ms']['p50']}/"
        f"{ix['search']['full']['b1_k100_ms']['p99']} ms, batched {ix['search']['full']['b64_k100_ms_per_query']} "
        f"ms/query",
        f"  service core (no Kafka) at {sc['rate']:.0f}/s: answered {sc['answered']}/{sc['requests']}, latency "
        f"p50 {sc['latency_ms']['p50']} ms p99 {sc['latency_ms']['p99']} ms, levels {sc['levels']}",
    ]
    for run, title in ((e2e, f"end to end via {engine} (produce -> recommendation delivered), triton "
                              f"{e2e and e2e['triton']}"),
                       (floor, f"transport floor via {engine}: the ingest app relays each request unchanged (the "
                               f"same two Kafka hops, decode and schema check, no serving)")):
        if not run:
            continue
        lines.append(f"  {title}:")
        for w in run["waves"] + ([run["overload"]] if run["overload"] else []):
            lat = w["delivered_latency_ms"]
            lines.append(f"    {w['rate']:>6.0f}/s (sent {w['achieved_send_rate']}/s): p50 {lat['p50']} ms, p99 "
                         f"{lat['p99']} ms; full on time {w['full_on_time_share']:.1%}, degraded "
                         f"{w['degraded_share']:.1%}, missed {w['miss_share']:.1%}, goodput {w['goodput_per_s']}/s")
            lines.append(f"      {w['cores_busy']} cores busy; CPU us per request: " + ", ".join(
                f"{k} {v}" for k, v in w["cpu_us_per_request"].items()))
        lines.append(f"  sustainable rate: {run['sustainable_rate']}/s; overload row = 2x that")
        lines.append("  app stages over the whole run (p50/p99 ms): " + ", ".join(
            f"{name} {v['p50_ms']}/{v['p99_ms']}" for name, v in run["app_stages"].items()))
    print("\n".join(lines))
    out = REPO / "perf" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = "recsys" if engine == "tansu" else f"recsys_{engine}"  # the embedded default keeps the plain name
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(f"# perf/recsys.py --engine {engine}\n\n```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
