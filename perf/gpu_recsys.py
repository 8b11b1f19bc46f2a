"""Retrieval on a GPU: the cupy array index (exact and IVF-style) over the 1M-item catalog, behind the same
VectorIndex interface the serving worker uses on CPU with FAISS.

    PYTHONPATH=. python3 perf/gpu_recsys.py [--items 1000000] [--results perf/results]

faiss-gpu cannot reach the GPU test machine (its wheels need hundreds of MB of CUDA libraries,
docs/notes/gpu-machine.md), so this measures mediagrid.recsys.array_index on cupy: exact search (the
ground truth for recall), IVF-style search at the full and degraded nprobe, and one whole serving batch
(query encoder on the host, search on the GPU, re-rank on the host). Needs only numpy and cupy, not the
rest of mediagrid's dependencies. Without a usable GPU it says so and exits 0.
Writes <out-dir>/gpu_recsys.json and .md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mediagrid.recsys.array_index import ArrayIndex, recall_at_k  # noqa: E402
from mediagrid.recsys.catalog import DEFAULT_REGIONS, CatalogSpec, generate_catalog  # noqa: E402
from mediagrid.recsys.query_encoder import LocalEncoder, context_tokens, hash_features  # noqa: E402
from mediagrid.recsys.ranking import Reranker, RerankSettings  # noqa: E402

NPROBE, DEGRADED_NPROBE = 16, 4
TAGS = ("goal", "replay", "team-home", "team-away", "live", "corner", "save")


def usable_cupy() -> Any:
    """cupy when a CUDA device answers, else None (cupy imports fine without one and fails later)."""
    try:
        import cupy  # noqa: PLC0415

        return cupy if cupy.cuda.is_available() and cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # noqa: BLE001 - ImportError, or CUDARuntimeError without a driver
        return None


def request_features(n: int, seed: int) -> tuple[np.ndarray, list[str], list[str]]:
    rng = np.random.default_rng(seed)
    users = [f"u-{u:07d}" for u in rng.integers(0, 15_000, n)]
    regions = [DEFAULT_REGIONS[r] for r in rng.integers(0, len(DEFAULT_REGIONS), n)]
    feats = np.stack([
        hash_features(context_tokens("football", list(rng.choice(TAGS, int(rng.integers(1, 4)), replace=False)),
                                     region, "match-main", user))
        for user, region in zip(users, regions)])
    return feats, users, regions


def timed(cupy: Any, fn: Any, repeats: int) -> dict[str, float]:
    """p50/p99 wall ms of ``fn()`` (its results come back to the host, so the GPU work is finished)."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        cupy.cuda.Device().synchronize()
        samples.append((time.perf_counter() - start) * 1000)
    return {"p50": round(float(np.percentile(samples, 50)), 3), "p99": round(float(np.percentile(samples, 99)), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--results", type=Path, default=REPO / "perf" / "results")
    args = parser.parse_args()
    cupy = usable_cupy()
    if cupy is None:
        print("gpu_recsys: no usable CUDA device (cupy missing or no driver); nothing to measure here. "
              "perf/recsys.py measures the CPU path.")
        return 0
    device = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    t = time.perf_counter()
    catalog = generate_catalog(CatalogSpec(items=args.items))
    catalog_s = time.perf_counter() - t
    encoder = LocalEncoder(REPO / "models")
    feats, users, regions = request_features(2048, seed=5)
    queries = encoder.encode(feats)

    exact = ArrayIndex(catalog.vectors, cupy)
    t = time.perf_counter()
    _, truth = exact.search(queries, 10)
    truth_s = time.perf_counter() - t
    t = time.perf_counter()
    nlist = int(4 * np.sqrt(args.items))
    ivf = ArrayIndex(catalog.vectors, cupy, nlist=nlist, nprobe=NPROBE, degraded_nprobe=DEGRADED_NPROBE, seed=7)
    cupy.cuda.Device().synchronize()
    build_s = time.perf_counter() - t
    recall = {effort: round(recall_at_k(ivf.search(queries, 10, degraded=effort == "degraded")[1], truth), 4)
              for effort in ("full", "degraded")}

    search: dict[str, Any] = {}
    for batch in (1, 32, 256):
        q = queries[:batch]
        search[f"exact_b{batch}_k100_ms"] = timed(cupy, lambda q=q: exact.search(q, 100), args.repeats)
        for effort in ("full", "degraded"):
            search[f"ivf_{effort}_b{batch}_k100_ms"] = timed(
                cupy, lambda q=q, e=effort: ivf.search(q, 100, degraded=e == "degraded"), args.repeats)

    reranker = Reranker(catalog, RerankSettings())
    reranker.warm()

    def serve_batch(n: int = 64) -> None:
        qs = encoder.encode(feats[:n])
        similarity, candidates = ivf.search(qs, 100)
        reranker.rerank(similarity, candidates, users[:n], regions[:n], [10] * n)

    serve = timed(cupy, serve_batch, args.repeats)
    result = {
        "benchmark": "gpu_recsys", "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": device, "cupy": cupy.__version__, "python": platform.python_version(), "cpus": os.cpu_count(),
        "items": args.items, "catalog_build_s": round(catalog_s, 1), "ivf": ivf.description,
        "ivf_build_s": round(build_s, 2), "exact_ground_truth_s_for_2048": round(truth_s, 3),
        "nprobe": NPROBE, "degraded_nprobe": DEGRADED_NPROBE, "recall_at_10": recall, "search": search,
        "serve_batch64_ms": serve, "serve_batch64_per_request_ms": round(serve["p50"] / 64, 4),
    }
    lines = [f"gpu_recsys on {device} (cupy {cupy.__version__}), {args.items:,} items, {nlist} IVF lists "
             f"(built in {build_s:.2f} s)",
             f"  recall@10 vs exact: full (nprobe {NPROBE}) {recall['full']}, degraded (nprobe {DEGRADED_NPROBE}) "
             f"{recall['degraded']}"]
    lines += [f"  {name:<28} p50 {v['p50']:>8.3f} ms  p99 {v['p99']:>8.3f} ms" for name, v in search.items()]
    lines.append(f"  serving batch of 64 (host encoder + GPU IVF search + host re-rank): p50 {serve['p50']} ms, "
                 f"p99 {serve['p99']} ms, {result['serve_batch64_per_request_ms']} ms per request")
    print("\n".join(lines))
    print(f"RESULT recall@10 {recall['full']}, batch-64 serve p50 {serve['p50']} ms "
          f"({result['serve_batch64_per_request_ms']} ms/request)")
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "gpu_recsys.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.results / "gpu_recsys.md").write_text("# perf/gpu_recsys.py\n\n```\n" + "\n".join(lines) + "\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
