"""A seeded, synthetic product catalog whose item vectors look like learned embeddings.

Random Gaussian vectors are the worst case for approximate search and say nothing about production
(docs/notes/triton-faiss-video-on-cpu.md: 4-20 % recall on random data, 98 % on structured data). Real item
embeddings lie near a low-dimensional manifold and form clusters (teams, product lines). So the catalog
draws a mixture of Gaussians in a small latent space and projects it into the item space, with a little
isotropic noise on top. Cluster centres depend only on the seed and the shape (not on the item count), so
the query encoder's prototypes (drawn from the same centres) fit every catalog size.

Items also carry what the re-ranker's business rules need: price, stock, the regions they may be sold
in (a bit mask over :attr:`CatalogSpec.regions`), a category (mostly the cluster's own) and popularity.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: Regions a catalog sells in unless its config says otherwise (the commerce scenario's regions).
DEFAULT_REGIONS: tuple[str, ...] = ("eu-west", "eu-central", "us-east", "ap-south")
_ITEM_ID = "item-{:07d}"
_GLOBAL_SHARE = 0.7  # items sold in every region; the rest in a random non-empty subset
_OWN_CATEGORY_SHARE = 0.8  # items in their cluster's category; the rest in a random one
_CHUNK = 131_072  # items generated per step: bounds the temporary float64-free working set


@dataclass(frozen=True)
class CatalogSpec:
    """Everything that determines a catalog; equal specs give identical catalogs."""

    items: int = 100_000
    dim: int = 64
    clusters: int = 1000
    latent_dim: int = 16
    spread: float = 0.35  # within-cluster spread in the latent space, relative to the centres' scale
    noise: float = 0.05  # isotropic noise added in the item space
    categories: int = 24
    regions: tuple[str, ...] = DEFAULT_REGIONS
    seed: int = 7

    def __post_init__(self) -> None:
        if self.items < 1 or self.dim < 2 or self.clusters < 1 or self.latent_dim < 1 or self.categories < 1:
            raise ValueError(f"a catalog needs at least one item, cluster and category and dim >= 2: {self}")
        if not self.regions or len(self.regions) > 63:
            raise ValueError(f"a catalog needs 1 to 63 regions, got {len(self.regions)}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> CatalogSpec:
        """From the app config's ``recsys.catalog`` section (schema-validated, defaults filled)."""
        return cls(**{**section, "regions": tuple(section.get("regions", DEFAULT_REGIONS))})

    def fingerprint(self) -> str:
        """A short stable hash of the spec, for cache keys."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class Catalog:
    """Column arrays, one row per item; row ``i`` is the item :func:`row_ids` names ``item-000000i``."""

    spec: CatalogSpec
    vectors: np.ndarray  # (n, dim) float32, unit length: inner product is cosine similarity
    cluster: np.ndarray  # (n,) int32
    category: np.ndarray  # (n,) int16
    price: np.ndarray  # (n,) float32, in currency units
    stock: np.ndarray  # (n,) int32; 0: out of stock
    region_mask: np.ndarray  # (n,) int64, bit r set: may be sold in spec.regions[r]
    popularity: np.ndarray  # (n,) float32 in [0, 1]
    centers: np.ndarray = field(repr=False)  # (clusters, dim) float32 unit cluster centres in the item space

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def region_bit(self, region: str) -> int:
        """The mask bit of ``region``; 0 for a region the catalog does not know (see :meth:`allowed`)."""
        try:
            return 1 << self.spec.regions.index(region)
        except ValueError:
            return 0

    def allowed(self, rows: np.ndarray, region: str) -> np.ndarray:
        """Which ``rows`` may be offered in ``region``: in stock and sold there. A region outside the
        catalog's list gets only the items sold everywhere, the safe reading of an unknown market."""
        bit = self.region_bit(region)
        masks = self.region_mask[rows]
        sold = (masks & bit) != 0 if bit else masks == self.everywhere_mask
        return sold & (self.stock[rows] > 0)

    @property
    def everywhere_mask(self) -> int:
        return (1 << len(self.spec.regions)) - 1


def cluster_centers(spec: CatalogSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latent centres, the latent-to-item projection and the unit centres in the item space; they depend
    on the seed and the shape only, so every catalog size (and the query encoder) shares them."""
    rng = np.random.default_rng([spec.seed, 1])
    latent = rng.standard_normal((spec.clusters, spec.latent_dim)).astype(np.float32)
    projection = (rng.standard_normal((spec.latent_dim, spec.dim)) / np.sqrt(spec.latent_dim)).astype(np.float32)
    return latent, projection, _unit(latent @ projection)


def generate_catalog(spec: CatalogSpec) -> Catalog:
    """Build the catalog of ``spec`` (vectorised in chunks, so a million items take seconds, not minutes)."""
    latent, projection, centers = cluster_centers(spec)
    rng = np.random.default_rng([spec.seed, 2])
    n = spec.items
    cluster = rng.integers(0, spec.clusters, n, dtype=np.int32)
    vectors = np.empty((n, spec.dim), dtype=np.float32)
    for start in range(0, n, _CHUNK):
        rows = cluster[start:start + _CHUNK]
        points = latent[rows] + spec.spread * rng.standard_normal((rows.size, spec.latent_dim), dtype=np.float32)
        chunk = points @ projection
        chunk += spec.noise * rng.standard_normal(chunk.shape, dtype=np.float32)
        vectors[start:start + rows.size] = _unit(chunk)
    cluster_category = rng.integers(0, spec.categories, spec.clusters, dtype=np.int16)
    category = np.where(rng.random(n) < _OWN_CATEGORY_SHARE, cluster_category[cluster],
                        rng.integers(0, spec.categories, n, dtype=np.int16)).astype(np.int16)
    everywhere = (1 << len(spec.regions)) - 1
    some = rng.integers(1, everywhere + 1, n, dtype=np.int64)
    region_mask = np.where(rng.random(n) < _GLOBAL_SHARE, everywhere, some).astype(np.int64)
    price = np.round(np.exp(rng.normal(3.4, 0.8, n)), 2).astype(np.float32)  # median about 30
    stock = np.where(rng.random(n) < 0.9, rng.integers(1, 500, n), 0).astype(np.int32)
    popularity = (rng.pareto(2.0, n) / 10).clip(0, 1).astype(np.float32)
    return Catalog(spec, vectors, cluster, category, price, stock, region_mask, popularity, centers)


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def row_ids(rows: Sequence[int] | np.ndarray) -> list[str]:
    """Item ids of ``rows``, for outgoing messages."""
    return [_ITEM_ID.format(r) for r in (rows.tolist() if isinstance(rows, np.ndarray) else rows)]
