"""Exact and IVF-style inner-product search written against an array module: numpy here, cupy on a GPU.

faiss-gpu is the production path on a GPU node (:func:`mediagrid.recsys.index_store.open_faiss_index`),
but its wheels need CUDA libraries of hundreds of MB that cannot reach every GPU machine
(docs/notes/gpu-machine.md). This index needs nothing but cupy and offers the same
:class:`~mediagrid.recsys.index_store.VectorIndex` interface, so the serving path and
perf/gpu_recsys.py run on any CUDA device; on numpy it is what the unit tests check it against FAISS with.

IVF-style: k-means centroids partition the items into lists stored contiguously by list. A batch of
queries picks its ``nprobe`` nearest lists each, gathers the candidates of all of them into one padded
(batch, candidates) block, and scores the block with one batched product: no per-query loop, which is what
keeps a GPU busy.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

_KMEANS_ITERS = 12
_EXACT_CHUNK = 262_144  # items scored per step of an exact search: bounds the (batch, chunk) score block


def kmeans(xp: ModuleType, vectors: Any, k: int, iters: int = _KMEANS_ITERS, seed: int = 0) -> Any:
    """Spherical k-means (inner product, unit centroids) on ``vectors``: (k, dim) centroids."""
    n = vectors.shape[0]
    rng = np.random.default_rng(seed)
    centroids = vectors[xp.asarray(rng.choice(n, size=k, replace=False))].copy()
    for _ in range(iters):
        assign = xp.argmax(vectors @ centroids.T, axis=1)
        sums = xp.zeros_like(centroids)
        xp.add.at(sums, assign, vectors)  # numpy and cupy alike
        norms = xp.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        centroids = xp.where(empty[:, None], centroids, sums / xp.maximum(norms, 1e-12))
    return centroids


class ArrayIndex:
    """Search over ``vectors`` (unit float32 rows) with ``xp``: exact when ``nlist`` is 0, else IVF-style
    with ``nprobe`` lists (``degraded_nprobe`` for the cheaper effort)."""

    def __init__(self, vectors: np.ndarray, xp: ModuleType = np, *, nlist: int = 0, nprobe: int = 16,
                 degraded_nprobe: int = 4, seed: int = 0) -> None:
        self.xp = xp
        self.nlist = nlist
        self.nprobe = {False: min(nprobe, max(nlist, 1)), True: min(degraded_nprobe, max(nlist, 1))}
        data = xp.asarray(np.ascontiguousarray(vectors, dtype=np.float32))
        self.size, self.dim = int(data.shape[0]), int(data.shape[1])
        where = getattr(xp, "__name__", "arrays")
        if nlist <= 0:
            self.vectors = data
            self.description = f"exact array search ({where}, {self.size} items)"
            return
        sample = data if self.size <= 64 * nlist else data[xp.asarray(
            np.sort(np.random.default_rng(seed).choice(self.size, 64 * nlist, replace=False)))]
        self.centroids = kmeans(xp, sample, nlist, seed=seed)
        assign = xp.argmax(data @ self.centroids.T, axis=1) if self.size <= _EXACT_CHUNK else xp.concatenate(
            [xp.argmax(data[s:s + _EXACT_CHUNK] @ self.centroids.T, axis=1) for s in range(0, self.size, _EXACT_CHUNK)])
        order = xp.argsort(assign, kind="stable")
        self.rows = order.astype(xp.int64)  # position in list order -> catalog row
        self.vectors = data[order]
        counts = xp.bincount(assign, minlength=nlist)
        self.starts = xp.concatenate([xp.zeros(1, dtype=counts.dtype), xp.cumsum(counts)[:-1]])
        self.counts = counts
        self.description = f"IVF-style array search ({where}, {self.size} items, {nlist} lists)"

    def search(self, queries: np.ndarray, k: int, degraded: bool = False) -> tuple[np.ndarray, np.ndarray]:
        xp = self.xp
        q = xp.asarray(np.ascontiguousarray(queries, dtype=np.float32))
        if self.nlist <= 0:
            scores, rows = self._exact(q, k)
        else:
            scores, rows = self._ivf(q, k, self.nprobe[degraded])
        return _to_host(scores).astype(np.float32), _to_host(rows).astype(np.int64)

    def _exact(self, q: Any, k: int) -> tuple[Any, Any]:
        xp = self.xp
        best_s, best_r = None, None
        for start in range(0, self.size, _EXACT_CHUNK):
            block = q @ self.vectors[start:start + _EXACT_CHUNK].T
            s, r = _top_k(xp, block, k)
            r = r + start
            if best_s is None:
                best_s, best_r = s, r
            else:
                merged_s, merged_r = xp.concatenate([best_s, s], 1), xp.concatenate([best_r, r], 1)
                s2, pick = _top_k(xp, merged_s, k)
                best_s, best_r = s2, xp.take_along_axis(merged_r, pick, 1)
        return best_s, best_r

    def _ivf(self, q: Any, k: int, nprobe: int) -> tuple[Any, Any]:
        xp = self.xp
        _, lists = _top_k(xp, q @ self.centroids.T, nprobe)  # (b, nprobe)
        sizes = self.counts[lists]  # (b, nprobe)
        ends = xp.cumsum(sizes, axis=1)
        width = max(int(ends[:, -1].max()), 1)
        slot = xp.arange(width)
        probe = (slot[None, :, None] >= ends[:, None, :]).sum(axis=2)  # which probed list holds slot j
        valid = probe < nprobe
        probe = xp.minimum(probe, nprobe - 1)
        first = xp.take_along_axis(ends - sizes, probe, 1)
        position = xp.take_along_axis(self.starts[lists], probe, 1) + slot[None, :] - first
        position = xp.where(valid, position, 0)
        scores = xp.matmul(self.vectors[position], q[:, :, None])[:, :, 0]
        scores = xp.where(valid, scores, -xp.inf)
        top_s, top_j = _top_k(xp, scores, min(k, width))
        rows = xp.where(xp.isfinite(top_s), self.rows[xp.take_along_axis(position, top_j, 1)], -1)
        if top_s.shape[1] < k:  # fewer candidates than k: pad as FAISS does
            pad = k - top_s.shape[1]
            top_s = xp.concatenate([top_s, xp.full((q.shape[0], pad), -xp.inf, dtype=top_s.dtype)], 1)
            rows = xp.concatenate([rows, xp.full((q.shape[0], pad), -1, dtype=rows.dtype)], 1)
        return top_s, rows


def _to_host(array: Any) -> np.ndarray:
    return array.get() if hasattr(array, "get") else np.asarray(array)  # cupy arrays copy back with get()


def _top_k(xp: ModuleType, scores: Any, k: int) -> tuple[Any, Any]:
    """The ``k`` largest of each row, best first: (scores, column indices)."""
    k = min(k, scores.shape[1])
    part = xp.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else xp.broadcast_to(
        xp.arange(scores.shape[1]), scores.shape)
    picked = xp.take_along_axis(scores, part, 1)
    order = xp.argsort(-picked, axis=1)
    return xp.take_along_axis(picked, order, 1), xp.take_along_axis(part, order, 1)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's true top-k (rows of ``truth``) that ``found`` returned, in [0, 1]."""
    k = truth.shape[1]
    hits = sum(len(np.intersect1d(f[f >= 0], t, assume_unique=True)) for f, t in zip(found[:, :k], truth))
    return hits / (k * len(truth))
