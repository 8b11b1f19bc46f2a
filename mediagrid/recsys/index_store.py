"""Approximate nearest-neighbour search over the catalog: FAISS indexes built once, cached on disk, searched
at two effort levels.

Why these choices (docs/notes/triton-faiss-video-on-cpu.md, 1M vectors, numbers there): exact search is
too slow per request; IVF builds in seconds and answers a query in a fraction of a millisecond; HNSW is as
fast but takes minutes to build on a small CPU, so IVF is the default and the one CI builds. Every index is
searched with per-call parameters (``nprobe`` or ``efSearch``), so the serving thread can answer an
overloaded moment with the cheaper ``degraded`` effort without touching shared state. Recall is always
measured against exact search (:func:`exact_search`, :func:`~mediagrid.recsys.array_index.recall_at_k`),
never assumed.

Built indexes are cached as ``<cache_dir>/<key>.faiss``; the key hashes everything that changes the file
(the catalog spec, the build parameters, the FAISS version), not the search-time parameters.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import faiss
import numpy as np

from mediagrid.recsys.catalog import Catalog

log = logging.getLogger(__name__)

KINDS = ("ivf", "hnsw", "flat")
#: FAISS wants at least this many training points per IVF list (it warns below).
_POINTS_PER_LIST = 39


@runtime_checkable
class VectorIndex(Protocol):
    """What the re-ranker needs from any index: FAISS on CPU or GPU, or array scoring on numpy or cupy."""

    description: str

    def search(self, queries: np.ndarray, k: int, degraded: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows by inner product for each query row: (scores float32, rows int64; -1 where fewer
        than ``k`` were found), both (len(queries), k) host arrays. ``degraded``: the cheaper effort."""
        ...


@dataclass(frozen=True)
class IndexSpec:
    """Index kind, build parameters and the two search efforts; from the config's ``recsys.index``."""

    kind: str = "ivf"
    nlist: int = 0  # IVF lists; 0: about 4 * sqrt(items), bounded by the training data
    nprobe: int = 16
    degraded_nprobe: int = 4
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 64
    degraded_ef_search: int = 16
    train_size: int = 200_000  # vectors that train the IVF quantizer
    threads: int = 1  # OpenMP threads per search; 1 suits single queries and small batches on a busy node

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"index kind must be one of {', '.join(KINDS)}, not {self.kind!r}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> IndexSpec:
        return cls(**{k: v for k, v in section.items() if k != "cache_dir"})

    def lists_for(self, items: int) -> int:
        """IVF list count for a catalog of ``items``."""
        wanted = self.nlist or int(4 * np.sqrt(items))
        return int(max(1, min(wanted, items // _POINTS_PER_LIST)))

    def build_key(self, catalog: Catalog) -> str:
        """Hash of what the built file depends on: search-time parameters are left out."""
        build = {"kind": self.kind, "catalog": catalog.spec.fingerprint(), "faiss": faiss.__version__}
        if self.kind == "ivf":
            build |= {"nlist": self.lists_for(len(catalog)), "train_size": self.train_size}
        elif self.kind == "hnsw":
            build |= {"m": self.hnsw_m, "ef_construction": self.ef_construction}
        return hashlib.sha256(json.dumps(build, sort_keys=True).encode()).hexdigest()[:20]


def build_index(vectors: np.ndarray, spec: IndexSpec, seed: int = 0) -> faiss.Index:
    """A CPU FAISS index over ``vectors`` (unit float32 rows) with inner-product metric."""
    n, dim = vectors.shape
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif spec.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec.ef_construction
    else:
        nlist = spec.lists_for(n)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        train = vectors if n <= spec.train_size else vectors[np.sort(rng.choice(n, spec.train_size, replace=False))]
        index.train(train)
    index.add(vectors)
    return index


class FaissIndex:
    """A FAISS index with the spec's two efforts; on a GPU index the effort is set before each search
    (only the serving thread searches, so that is safe), elsewhere it travels with the call."""

    def __init__(self, index: faiss.Index, spec: IndexSpec, on_gpu: bool = False) -> None:
        self.index = index
        self.spec = spec
        self.on_gpu = on_gpu
        self.description = f"faiss {spec.kind} ({'gpu' if on_gpu else 'cpu'}, {index.ntotal} items)"
        self._params = {False: self._make_params(False), True: self._make_params(True)}
        self._threads_set = threading.local()

    def _limit_threads(self) -> None:
        """OpenMP's thread count is per calling thread: set it in each thread that searches, on its first
        search. A serving thread left at the default (one per core) had FAISS's second OpenMP thread spinning
        between searches, taking CPU the graph and the broker need (docs/notes/triton-faiss-video-on-cpu.md:
        with two threads a single query was also slower)."""
        if not getattr(self._threads_set, "done", False):
            faiss.omp_set_num_threads(self.spec.threads)
            self._threads_set.done = True

    def _make_params(self, degraded: bool) -> Any:
        s = self.spec
        if s.kind == "ivf":
            return faiss.SearchParametersIVF(nprobe=s.degraded_nprobe if degraded else s.nprobe)
        if s.kind == "hnsw":
            return faiss.SearchParametersHNSW(efSearch=s.degraded_ef_search if degraded else s.ef_search)
        return None

    def search(self, queries: np.ndarray, k: int, degraded: bool = False) -> tuple[np.ndarray, np.ndarray]:
        self._limit_threads()
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        params = self._params[degraded]
        if self.on_gpu:
            if self.spec.kind == "ivf":
                self.index.nprobe = params.nprobe
            return self.index.search(queries, k)
        return self.index.search(queries, k, params=params)


class IndexStore:
    """Builds each index once and keeps it under ``cache_dir``; the next run (or test) loads the file."""

    def __init__(self, cache_dir: Path | str) -> None:
        self.cache_dir = Path(cache_dir)

    def path_for(self, catalog: Catalog, spec: IndexSpec) -> Path:
        return self.cache_dir / f"{spec.kind}-{spec.build_key(catalog)}.faiss"

    def load_or_build(self, catalog: Catalog, spec: IndexSpec) -> tuple[faiss.Index, bool]:
        """The index for ``catalog`` and ``spec`` and whether it was built now (False: loaded)."""
        path = self.path_for(catalog, spec)
        if path.is_file():
            return faiss.read_index(str(path)), False
        started = time.monotonic()
        index = build_index(catalog.vectors, spec, seed=catalog.spec.seed)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        faiss.write_index(index, str(partial))
        os.replace(partial, path)  # atomic: a concurrent reader sees the whole file or none
        log.info("built %s index of %d items in %.1f s -> %s", spec.kind, len(catalog),
                 time.monotonic() - started, path)
        return index, True


def faiss_gpu_available() -> bool:
    """Whether this FAISS build can put an index on a GPU (faiss-gpu installed and a device visible)."""
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def open_faiss_index(catalog: Catalog, spec: IndexSpec, store: IndexStore, gpu: bool = False) -> FaissIndex:
    """The catalog's index from the store, moved to GPU 0 when ``gpu`` (callers check
    :func:`faiss_gpu_available` first)."""
    faiss.omp_set_num_threads(spec.threads)
    index, _ = store.load_or_build(catalog, spec)
    if gpu:
        resources = faiss.StandardGpuResources()
        index = faiss.index_cpu_to_gpu(resources, 0, index)
        index.referenced_resources = resources  # keeps them alive as long as the index
    return FaissIndex(index, spec, on_gpu=gpu)


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top ``k`` by inner product: the ground truth that recall is measured against."""
    return faiss.knn(np.ascontiguousarray(queries, dtype=np.float32), vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
