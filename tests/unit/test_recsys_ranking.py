"""Re-ranking: business rules, diversity, personal fit, the popular list."""
from __future__ import annotations

import numpy as np
import pytest

from mediagrid.recsys.catalog import CatalogSpec, generate_catalog
from mediagrid.recsys.index_store import exact_search
from mediagrid.recsys.ranking import Reranker, RerankSettings, user_profiles


@pytest.fixture(scope="module")
def catalog():
    return generate_catalog(CatalogSpec(items=5000, clusters=50))


def retrieve(catalog, n=8, width=100):
    queries = catalog.centers[:n]
    return exact_search(catalog.vectors, queries, width)


def test_answers_obey_stock_region_and_diversity(catalog):
    similarity, candidates = retrieve(catalog)
    reranker = Reranker(catalog, RerankSettings(max_per_category=2))
    regions = ["eu-west", "us-east", "ap-south", "mars"] * 2
    ranked = reranker.rerank(similarity, candidates, [f"u-{i}" for i in range(8)], regions, [10] * 8)
    for answer, region, retrieved in zip(ranked, regions, candidates):
        assert len(answer.rows) == 10
        assert catalog.allowed(answer.rows, region).all()
        assert np.bincount(catalog.category[answer.rows]).max() <= 2
        assert set(answer.rows.tolist()) <= set(retrieved.tolist())
        assert len(set(answer.rows.tolist())) == 10
    assert all((catalog.region_mask[a.rows] == catalog.everywhere_mask).all() for a in ranked[3::4])  # "mars"


def test_too_few_categories_fill_up_instead_of_answering_short(catalog):
    similarity, candidates = retrieve(catalog, n=1)
    one_category = np.where(catalog.category[candidates[0]] == catalog.category[candidates[0][0]])[0]
    cand = candidates[:, one_category]
    ranked = Reranker(catalog, RerankSettings(max_per_category=1)).rerank(
        similarity[:, one_category], cand, ["u-1"], ["eu-west"], [5])[0]
    allowed = int(catalog.allowed(cand[0], "eu-west").sum())
    assert len(ranked.rows) == min(5, allowed) and len(ranked.rows) >= 2


def test_missing_candidates_are_skipped(catalog):
    similarity, candidates = retrieve(catalog, n=1, width=20)
    candidates[:, 5:] = -1
    ranked = Reranker(catalog, RerankSettings()).rerank(similarity, candidates, ["u-1"], ["eu-west"], [10])[0]
    assert (ranked.rows >= 0).all() and len(ranked.rows) <= 5


def test_favourite_categories_move_up(catalog):
    similarity, candidates = retrieve(catalog, n=1, width=200)
    (favourite, _), user = user_profiles(["u-42"], catalog.spec.categories), "u-42"
    plain = Reranker(catalog, RerankSettings(category_affinity=0.0, max_per_category=100))
    keen = Reranker(catalog, RerankSettings(category_affinity=10.0, max_per_category=100))
    liked = lambda r: np.isin(catalog.category[r.rows], favourite[0]).sum()  # noqa: E731
    base = plain.rerank(similarity, candidates, [user], ["eu-west"], [10])[0]
    boosted = keen.rerank(similarity, candidates, [user], ["eu-west"], [10])[0]
    assert liked(boosted) > liked(base)
    assert np.all(np.diff(base.scores) <= 0)  # best first


def test_popular_list_is_allowed_and_cached(catalog):
    reranker = Reranker(catalog, RerankSettings(popular_size=30))
    reranker.warm()
    top = reranker.popular("us-east", 10)
    assert len(top.rows) == 10 and catalog.allowed(top.rows, "us-east").all()
    assert top.scores.min() >= np.quantile(catalog.popularity, 0.9)  # really the popular end of the catalog
    assert reranker.popular("us-east", 10).rows is not top.rows and np.array_equal(
        reranker.popular("us-east", 10).rows, top.rows)
