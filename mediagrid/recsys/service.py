"""What a recommendation worker serves with, opened from the config's ``recsys`` section: catalog, vector
index (FAISS on CPU; faiss-gpu or the cupy array index on a GPU), re-ranker and query encoder (Triton, with
the same model in process as the fallback)."""
from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediagrid.recsys.array_index import ArrayIndex
from mediagrid.recsys.catalog import Catalog, CatalogSpec, generate_catalog
from mediagrid.recsys.index_store import IndexSpec, IndexStore, VectorIndex, faiss_gpu_available, open_faiss_index
from mediagrid.recsys.query_encoder import FallbackEncoder, LocalEncoder
from mediagrid.recsys.ranking import Reranker, RerankSettings
from mediagrid.recsys.triton import TritonEncoder, TritonServer


@dataclass
class RecsysParts:
    """What a recommendation worker serves with, opened from the config's ``recsys`` section."""

    catalog: Catalog
    index: VectorIndex
    reranker: Reranker
    encoder: FallbackEncoder


def open_recsys(section: Mapping[str, Any], resources: ExitStack, device: str = "cpu") -> RecsysParts:
    """Catalog, index (built or loaded from the cache), re-ranker and encoder as ``section`` says.

    ``encoder.triton``: ``none`` runs the model in this process; ``embedded`` starts the project's
    Triton server (:class:`TritonServer`) for this run; ``host:port`` uses a running one. With a server,
    ``encoder.fallback`` says what a batch gets while it is down: ``local`` (the same model in process)
    or ``popular`` (the cached popular list, counted as degraded). A server started here is stopped when
    ``resources`` closes.
    """
    catalog = generate_catalog(CatalogSpec.from_config(section["catalog"]))
    index = open_index(catalog, section["index"], device)
    reranker = Reranker(catalog, RerankSettings.from_config(section["rerank"]))
    enc = section["encoder"]
    repository = Path(enc["model_repository"])
    local = LocalEncoder(repository)
    if enc["triton"] == "none":
        return RecsysParts(catalog, index, reranker, FallbackEncoder(local, None))
    url = enc["triton"]
    if url == "embedded":
        server = TritonServer(repository).start()
        resources.callback(server.stop)
        url = server.grpc_url
    primary = TritonEncoder(url, timeout_s=enc["timeout_ms"] / 1000)
    encoder = FallbackEncoder(primary, local if enc["fallback"] == "local" else None, enc["retry_after_ms"] / 1000)
    return RecsysParts(catalog, index, reranker, encoder)


def open_index(catalog: Catalog, section: Mapping[str, Any], device: str) -> VectorIndex:
    """FAISS on CPU; on a GPU, faiss-gpu where installed, else the cupy array index (same interface)."""
    spec = IndexSpec.from_config(section)
    gpu = device == "gpu"
    if not gpu or faiss_gpu_available():
        return open_faiss_index(catalog, spec, IndexStore(section["cache_dir"]), gpu=gpu)
    import cupy  # noqa: PLC0415 - only on a GPU node

    nlist = 0 if spec.kind == "flat" else spec.lists_for(len(catalog))
    return ArrayIndex(catalog.vectors, cupy, nlist=nlist, nprobe=spec.nprobe, degraded_nprobe=spec.degraded_nprobe,
                      seed=catalog.spec.seed)


