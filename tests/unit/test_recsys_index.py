"""Catalog generation, FAISS index build/cache/search, the array index, and recall measured against exact
search (small catalogs: the 1M-item numbers are perf/recsys.py's job)."""
from __future__ import annotations

import numpy as np
import pytest

from mediagrid.recsys.array_index import ArrayIndex
from mediagrid.recsys.catalog import CatalogSpec, generate_catalog
from mediagrid.recsys.array_index import recall_at_k
from mediagrid.recsys.index_store import (
    FaissIndex, IndexSpec, IndexStore, VectorIndex, build_index, exact_search,
)

SPEC = CatalogSpec(items=6000, clusters=100)


@pytest.fixture(scope="module")
def catalog():
    return generate_catalog(SPEC)


@pytest.fixture(scope="module")
def queries(catalog):
    """Embedding-like queries: mixtures of two cluster centres, as the query encoder produces."""
    rng = np.random.default_rng(3)
    a, b = catalog.centers[rng.integers(0, 100, 200)], catalog.centers[rng.integers(0, 100, 200)]
    mix = rng.uniform(0.6, 1.0, (200, 1)).astype(np.float32)
    q = mix * a + (1 - mix) * b
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def test_catalog_is_seeded_and_well_formed(catalog):
    again = generate_catalog(SPEC)
    assert np.array_equal(catalog.vectors, again.vectors) and np.array_equal(catalog.price, again.price)
    other = generate_catalog(CatalogSpec(items=6000, clusters=100, seed=8))
    assert not np.array_equal(catalog.vectors, other.vectors)
    assert catalog.vectors.dtype == np.float32 and catalog.vectors.shape == (6000, 64)
    assert np.allclose(np.linalg.norm(catalog.vectors, axis=1), 1, atol=1e-5)
    # cluster centres depend on the shape and seed only, not on the item count
    assert np.array_equal(generate_catalog(CatalogSpec(items=500, clusters=100)).centers, catalog.centers)
    assert (catalog.stock == 0).any() and (catalog.region_mask != catalog.everywhere_mask).any()


def test_allowed_means_in_stock_and_sold_in_the_region(catalog):
    rows = np.arange(len(catalog))
    west = catalog.allowed(rows, "eu-west")
    assert not west[catalog.stock == 0].any()
    assert np.array_equal(west, (catalog.stock > 0) & ((catalog.region_mask & 1) != 0))
    unknown = catalog.allowed(rows, "mars")
    assert np.array_equal(unknown, (catalog.stock > 0) & (catalog.region_mask == catalog.everywhere_mask))


def test_ivf_recall_is_measured_against_exact_search(catalog, queries):
    _, truth = exact_search(catalog.vectors, queries, 10)
    index = FaissIndex(build_index(catalog.vectors, IndexSpec(nlist=64)), IndexSpec(nprobe=16, degraded_nprobe=1))
    assert isinstance(index, VectorIndex)
    full = recall_at_k(index.search(queries, 10)[1], truth)
    cheap = recall_at_k(index.search(queries, 10, degraded=True)[1], truth)
    assert full >= 0.95
    assert cheap < full  # the degraded effort really is cheaper (and so less exact)
    assert recall_at_k(truth, truth) == 1.0


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_other_index_kinds_find_the_true_neighbours(catalog, queries, kind):
    _, truth = exact_search(catalog.vectors, queries, 10)
    spec = IndexSpec(kind=kind, ef_search=64)
    scores, rows = FaissIndex(build_index(catalog.vectors, spec), spec).search(queries, 10)
    assert recall_at_k(rows, truth) >= (1.0 if kind == "flat" else 0.9)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first


def test_store_builds_once_then_loads_from_its_cache(catalog, queries, tmp_path):
    store = IndexStore(tmp_path)
    spec = IndexSpec(nlist=32)
    first, built = store.load_or_build(catalog, spec)
    second, built_again = store.load_or_build(catalog, IndexSpec(nlist=32, nprobe=3))  # search-time change
    assert built and not built_again
    assert [p.name for p in tmp_path.iterdir()] == [store.path_for(catalog, spec).name]
    a = FaissIndex(first, spec).search(queries, 5)[1]
    b = FaissIndex(second, spec).search(queries, 5)[1]
    assert np.array_equal(a, b)
    assert store.path_for(catalog, IndexSpec(nlist=16)) != store.path_for(catalog, spec)


def test_array_index_matches_faiss(catalog, queries):
    exact_scores, truth = exact_search(catalog.vectors, queries, 10)
    scores, rows = ArrayIndex(catalog.vectors).search(queries, 10)
    assert np.array_equal(rows, truth) and np.allclose(scores, exact_scores, atol=1e-5)
    ivf = ArrayIndex(catalog.vectors, nlist=32, nprobe=32, degraded_nprobe=2)
    assert recall_at_k(ivf.search(queries, 10)[1], truth) == 1.0  # every list probed: exact
    assert recall_at_k(ivf.search(queries, 10, degraded=True)[1], truth) < 1.0
    _, many = ivf.search(queries[:2], 6000, degraded=True)  # more than two lists hold: padded with -1
    assert (many == -1).any() and len(set(many[0][many[0] >= 0])) == (many[0] >= 0).sum()
