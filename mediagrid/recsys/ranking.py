"""Re-ranking of retrieved candidates: exact score, personal fit, business rules, category diversity.

Retrieval (:mod:`mediagrid.recsys.index_store`) finds items near the query; this decides what the
viewer is shown. Everything is vectorised over a whole batch of requests (one numpy pass, no per-request
Python loop): at 100 candidates per request it costs tens of microseconds per request, next to nothing
beside retrieval (docs/notes/triton-faiss-video-on-cpu.md: 0.3 ms for 32 requests).

* exact score: the inner product of the query with the item's full vector. Every index kind here (FAISS
  IVF-Flat, HNSW-Flat, Flat, and the array index) stores full vectors, so the score retrieval returns
  *is* exact and is used as is; a compressed index (PQ) would need a re-scoring pass here;
* personal fit: the user's favourite categories and price band, read from a deterministic per-user
  profile (:func:`user_profiles`, the stand-in for a feature store), and item popularity;
* rules: only items in stock and sold in the request's region (see
  :meth:`mediagrid.recsys.catalog.Catalog.allowed`);
* diversity: at most ``max_per_category`` items of one category, unless too few candidates are left to
  fill ``k`` (then the best of the rest fill up, rather than answering short).

The popular list (:meth:`Reranker.popular`) is the cheapest answer, ready before the first request: what
an overloaded node serves instead of missing the deadline.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from mediagrid.recsys.catalog import Catalog

_PRICE_MEDIAN_LOG = 3.4  # log of the catalog's median price (catalog.generate_catalog)


@dataclass(frozen=True)
class RerankSettings:
    """From the config's ``recsys.rerank`` section."""

    candidates: int = 100  # retrieved per request; the re-ranker chooses k of them
    max_per_category: int = 3
    similarity: float = 1.0
    category_affinity: float = 0.08
    popularity: float = 0.05
    price_fit: float = 0.03
    popular_size: int = 100  # length of each region's cached popular list

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> RerankSettings:
        return cls(**section)


@dataclass(frozen=True)
class Ranked:
    """One request's answer: catalog rows, best first, and their scores."""

    rows: np.ndarray  # int64
    scores: np.ndarray  # float32


def user_profiles(user_ids: Sequence[str], categories: int) -> tuple[np.ndarray, np.ndarray]:
    """Each user's two favourite categories (n, 2) and preferred log price (n,), derived from the id alone."""
    profiles = [_profile(user, categories) for user in user_ids]
    favourite = np.array([p[:2] for p in profiles], dtype=np.int16).reshape(len(profiles), 2)
    log_price = np.array([p[2] for p in profiles], dtype=np.float32)
    return favourite, log_price


@lru_cache(maxsize=65_536)
def _profile(user: str, categories: int) -> tuple[int, int, float]:
    """A viewer's session sends many requests: the hash is computed once per user, not per request."""
    h = int.from_bytes(hashlib.blake2b(user.encode(), digest_size=8).digest(), "little")
    return h % categories, (h >> 16) % categories, _PRICE_MEDIAN_LOG + ((h >> 32) % 1000 / 1000 - 0.5) * 1.6


class Reranker:
    def __init__(self, catalog: Catalog, settings: RerankSettings) -> None:
        self.catalog = catalog
        self.settings = settings
        self._log_price = np.log(np.maximum(catalog.price, 0.01)).astype(np.float32)
        self._popular: dict[str, Ranked] = {}
        self._bits = {region: catalog.region_bit(region) for region in catalog.spec.regions}

    def rerank(self, similarity: np.ndarray, candidates: np.ndarray, users: Sequence[str],
               regions: Sequence[str], ks: Sequence[int]) -> list[Ranked]:
        """Each request's answer from its retrieved ``candidates`` rows (-1: none) and their exact
        ``similarity`` to its query, both (requests, candidates) as an index search returns them."""
        c, s = self.catalog, self.settings
        valid = candidates >= 0
        rows = np.where(valid, candidates, 0)
        favourite, log_price = user_profiles(users, c.spec.categories)
        category = c.category[rows]
        liked = (category == favourite[:, :1]) | (category == favourite[:, 1:])
        score = s.similarity * similarity + s.popularity * c.popularity[rows]
        score += np.float32(s.category_affinity) * liked
        score -= s.price_fit * np.abs(self._log_price[rows] - log_price[:, None])
        allowed = valid & self._allowed(rows, regions)
        return self._select(rows, score, allowed, category, ks)

    def popular(self, region: str, k: int) -> Ranked:
        """The first ``k`` of ``region``'s cached popular list (made on first use: one pass over the catalog)."""
        ranked = self._popular.get(region)
        if ranked is None:
            ranked = self._popular[region] = self._popular_list(region)
        return Ranked(ranked.rows[:k], ranked.scores[:k])

    def warm(self) -> None:
        """Build every known region's popular list now, so the first overloaded request does not pay for it."""
        for region in (*self.catalog.spec.regions, ""):
            self.popular(region, 0)

    def _popular_list(self, region: str) -> Ranked:
        c, size = self.catalog, self.settings.popular_size
        everything = np.arange(len(c))
        allowed = c.allowed(everything, region)
        popularity = np.where(allowed, c.popularity, -np.inf)
        pool = min(len(c), 4 * size)
        top = np.argpartition(-popularity, pool - 1)[:pool] if pool < len(c) else everything
        rows = top[None, :]
        return self._select(rows, popularity[top][None, :].astype(np.float32), allowed[top][None, :],
                            c.category[rows], [size])[0]

    def _allowed(self, rows: np.ndarray, regions: Sequence[str]) -> np.ndarray:
        c = self.catalog
        bits = np.array([self._bits.get(r, 0) for r in regions], dtype=np.int64)[:, None]
        masks = c.region_mask[rows]
        sold = np.where(bits != 0, (masks & bits) != 0, masks == c.everywhere_mask)
        return sold & (c.stock[rows] > 0)

    def _select(self, rows: np.ndarray, score: np.ndarray, allowed: np.ndarray, category: np.ndarray,
                ks: Sequence[int]) -> list[Ranked]:
        """Per row: best allowed first, at most ``max_per_category`` per category, then the capped ones."""
        width = rows.shape[1]
        score = np.where(allowed, score, -np.inf)
        order = np.argsort(-score, axis=1, kind="stable")
        rank_in_category = _rank_within_group(np.take_along_axis(category, order, 1))
        ok = np.take_along_axis(allowed, order, 1)
        position = np.arange(width)[None, :]
        key = position + width * (rank_in_category >= self.settings.max_per_category) + 2 * width * ~ok
        chosen = np.take_along_axis(order, np.argsort(key, axis=1, kind="stable"), 1)
        out = []
        for b, k in enumerate(ks):
            picked = chosen[b, :k]
            picked = picked[allowed[b, picked]]
            out.append(Ranked(rows[b, picked].astype(np.int64), score[b, picked]))
        return out


def _rank_within_group(groups: np.ndarray) -> np.ndarray:
    """For each row of ``groups`` (batch, width): how many earlier entries of the row share each entry's
    group. One sort per row instead of a (batch, width, groups) tally."""
    b, width = groups.shape
    position = np.arange(width)
    keys = np.sort(groups.astype(np.int64) * width + position, axis=1)
    sorted_groups = keys // width
    starts = np.ones((b, width), dtype=bool)
    starts[:, 1:] = sorted_groups[:, 1:] != sorted_groups[:, :-1]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    ranks = np.empty((b, width), dtype=np.int64)
    np.put_along_axis(ranks, keys % width, position - first, axis=1)
    return ranks
