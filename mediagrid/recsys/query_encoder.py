"""The query encoder: user and viewing-context features -> a query vector in the catalog's item space.

The model lives in the project's Triton model repository (``models/query_encoder``: ``config.pbtxt``,
``1/model.py``, ``1/query_mlp.py``, ``1/weights.npz``) and is normally served by a real Triton server
(:mod:`mediagrid.recsys.triton`). :class:`LocalEncoder` runs the *same* ``query_mlp.py`` on the same
weights in this process: the fallback when no Triton URL is configured or the server goes away, and a
parity reference for tests. :class:`FallbackEncoder` puts the two together with a short circuit breaker,
so a dead server costs one failed call per ``retry_after_s``, not one per batch.

Features are hashed (the "hashing trick"): each token (``user:u-1``, ``tag:goal``, ...) adds its weight,
with a sign, to one of ``FEATURES`` buckets. That needs no vocabulary, handles ids never seen before, and
costs about a microsecond per token.

For the ad-insertion context sampler: :class:`ContextEncoder` turns what is on screen (category, scene
tags, region) into the same kind of unit vector, so ad creatives placed in the item space can be scored
by inner product with it, exactly like catalog items::

    from mediagrid.recsys.query_encoder import ContextEncoder, LocalEncoder
    encoder = ContextEncoder(LocalEncoder("models"))            # or FallbackEncoder(TritonEncoder(...), ...)
    vector = encoder.encode(category="football", scene_tags=["goal", "team-home"], region="eu-west")
    scores = creative_vectors @ vector                           # (creatives,) higher is a better fit
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
import threading
import time
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Protocol

import numpy as np

from mediagrid.errors import MediagridError
from mediagrid.recsys.catalog import CatalogSpec, cluster_centers

log = logging.getLogger(__name__)

#: Hashed feature buckets: the model's input width (models/query_encoder/config.pbtxt says the same).
FEATURES = 128
MODEL_NAME = "query_encoder"
MODEL_VERSION = "1"
_HIDDEN = 128
_PROTOTYPES = 256
_SHARPNESS = 6.0  # spread of the interest logits: higher gives peakier interests, queries nearer one cluster


class EncoderUnavailable(MediagridError):
    """No encoder could answer (the server is down and no fallback is configured)."""


class Encoder(Protocol):
    """Anything that maps (batch, FEATURES) float32 features to (batch, dim) unit query vectors."""

    name: str

    def encode(self, features: np.ndarray) -> np.ndarray: ...


def hash_features(tokens: Iterable[tuple[str, float]], dim: int = FEATURES) -> np.ndarray:
    """Signed feature hashing of (token, weight) pairs into a float32 vector of ``dim`` buckets."""
    return hash_feature_rows([tokens], dim)[0]


def hash_feature_rows(token_lists: Sequence[Iterable[tuple[str, float]]], dim: int = FEATURES) -> np.ndarray:
    """:func:`hash_features` of each token list, as the rows of one (n, dim) array: a batch of requests
    is hashed with one scatter-add instead of a numpy call per token."""
    rows: list[int] = []
    buckets: list[int] = []
    weights: list[float] = []
    for row, tokens in enumerate(token_lists):
        for token, weight in tokens:
            bucket, sign = _bucket(token, dim)
            rows.append(row)
            buckets.append(bucket)
            weights.append(sign * weight)
    out = np.zeros((len(token_lists), dim), dtype=np.float32)
    np.add.at(out, (rows, buckets), np.asarray(weights, dtype=np.float32))
    return out


@lru_cache(maxsize=131_072)
def _bucket(token: str, dim: int) -> tuple[int, float]:
    """Tokens repeat (a session's user, the match's tags): hash each once. Runs on the request path."""
    h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
    return h % dim, 1.0 if h >> 63 else -1.0


def context_tokens(category: str, scene_tags: Sequence[str], region: str, stream_id: str | None = None,
                   user_id: str | None = None) -> list[tuple[str, float]]:
    """The tokens of one request or viewing context; scene tags share one unit of weight between them."""
    tokens = [(f"category:{category}", 1.0), (f"region:{region}", 0.5)]
    if stream_id:
        tokens.append((f"stream:{stream_id}", 0.5))
    if user_id:
        tokens.append((f"user:{user_id}", 1.0))
    if scene_tags:
        share = 1.0 / math.sqrt(len(scene_tags))
        tokens += [(f"tag:{tag}", share) for tag in scene_tags]
    return tokens


def make_weights(spec: CatalogSpec, seed: int = 1, features: int = FEATURES, hidden: int = _HIDDEN,
                 prototypes: int = _PROTOTYPES) -> dict[str, np.ndarray]:
    """Fixed seeded weights for the model (tools/triton/make_weights.py writes them into the repository).

    The prototypes are cluster centres of catalogs made with ``spec``'s seed and shape, so queries point
    at real neighbourhoods of the catalog, whatever its item count.
    """
    rng = np.random.default_rng([seed, 3])
    _, _, centers = cluster_centers(spec)
    chosen = np.sort(rng.choice(len(centers), size=min(prototypes, len(centers)), replace=False))
    active = 6.0  # typical number of non-zero hashed features
    return {
        "w1": (rng.standard_normal((features, hidden)) / np.sqrt(active)).astype(np.float32),
        "b1": (0.1 * rng.standard_normal(hidden)).astype(np.float32),
        "w2": (_SHARPNESS * rng.standard_normal((hidden, len(chosen))) / np.sqrt(hidden / 2)).astype(np.float32),
        "b2": np.zeros(len(chosen), dtype=np.float32),
        "prototypes": centers[chosen].astype(np.float32),
    }


def model_version_dir(repository: Path | str) -> Path:
    return Path(repository) / MODEL_NAME / MODEL_VERSION


def load_model_code(repository: Path | str) -> ModuleType:
    """``query_mlp.py`` from the model repository, imported by path (it is the model, not a package)."""
    path = model_version_dir(repository) / "query_mlp.py"
    if not path.is_file():
        raise MediagridError(f"query encoder model not found: {path} is missing (is the model repository "
                             f"{repository} the project's models/ folder?)")
    spec = importlib.util.spec_from_file_location("mediagrid_query_mlp", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LocalEncoder:
    """The model run in this process with numpy: same code file, same weights as the Triton model."""

    name = "local"

    def __init__(self, repository: Path | str) -> None:
        self._code = load_model_code(repository)
        self.weights = self._code.load_weights(model_version_dir(repository) / self._code.WEIGHTS_FILE)
        self.dim = int(self.weights["prototypes"].shape[1])
        if self.weights["w1"].shape[0] != FEATURES:
            raise MediagridError(f"query encoder weights in {repository} take {self.weights['w1'].shape[0]} "
                                 f"features, mediagrid hashes {FEATURES}")

    def encode(self, features: np.ndarray) -> np.ndarray:
        return self._code.forward(self.weights, np.asarray(features, dtype=np.float32))


class FallbackEncoder:
    """The primary encoder (Triton) while it answers; the fallback (local) for ``retry_after_s`` after it
    fails. Counts calls per encoder and failures, for the run summary and tests."""

    def __init__(self, primary: Encoder, fallback: Encoder | None, retry_after_s: float = 1.0) -> None:
        self.primary = primary
        self.fallback = fallback
        self.retry_after_s = retry_after_s
        self.failures = 0
        self.calls: dict[str, int] = {primary.name: 0} | ({fallback.name: 0} if fallback else {})
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.primary.name

    def encode(self, features: np.ndarray) -> np.ndarray:
        return self.encode_with_source(features)[0]

    def encode_with_source(self, features: np.ndarray) -> tuple[np.ndarray, str]:
        """Query vectors and the name of the encoder that made them; raises :class:`EncoderUnavailable`
        when the primary fails and there is no fallback."""
        if time.monotonic() >= self._down_until:
            try:
                queries = self.primary.encode(features)
                self._count(self.primary.name)
                return queries, self.primary.name
            except EncoderUnavailable as exc:
                with self._lock:
                    self.failures += 1
                    self._down_until = time.monotonic() + self.retry_after_s
                log.warning("%s encoder failed (%s); using %s for %.1f s", self.primary.name, exc,
                            self.fallback.name if self.fallback else "no encoder", self.retry_after_s)
        if self.fallback is None:
            raise EncoderUnavailable(f"{self.primary.name} encoder is down and no fallback is configured")
        queries = self.fallback.encode(features)
        self._count(self.fallback.name)
        return queries, self.fallback.name

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1


class ContextEncoder:
    """One context (what is on screen, where) -> one unit vector in the item space, for the ad sampler."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def encode(self, *, category: str, scene_tags: Sequence[str] = (), region: str = "",
               stream_id: str | None = None, user_id: str | None = None) -> np.ndarray:
        features = hash_features(context_tokens(category, scene_tags, region, stream_id, user_id))[None, :]
        return self.encoder.encode(features)[0]
