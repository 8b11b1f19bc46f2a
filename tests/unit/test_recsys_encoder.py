"""The query encoder: hashed features, the committed weights, the in-process model, the fallback circuit,
and the Triton launcher's environment (the server itself: tests/integration/test_recsys_triton.py)."""
from __future__ import annotations

import numpy as np
import pytest

from mediagrid.recsys.catalog import CatalogSpec
from mediagrid.recsys.query_encoder import (
    FEATURES, ContextEncoder, EncoderUnavailable, FallbackEncoder, LocalEncoder, context_tokens, hash_feature_rows,
    hash_features, make_weights,
)
from mediagrid.recsys.triton import TritonError, TritonServer, server_dir, server_environment
from tests.conftest import REPO

MODELS = REPO / "models"


def features(n: int) -> np.ndarray:
    return np.stack([hash_features(context_tokens("football", ["goal", "team-home"], "eu-west", "match", f"u-{i}"))
                     for i in range(n)])


def test_hashed_features_are_stable_and_signed():
    a = hash_features([("user:u-1", 1.0), ("tag:goal", 0.5)])
    assert a.shape == (FEATURES,) and a.dtype == np.float32
    assert np.array_equal(a, hash_features([("user:u-1", 1.0), ("tag:goal", 0.5)]))
    assert sorted(np.abs(a[a != 0]).tolist()) == [0.5, 1.0]
    assert not np.array_equal(a, hash_features([("user:u-2", 1.0), ("tag:goal", 0.5)]))


def test_a_batch_hashes_each_row_as_one_request_would():
    token_lists = [context_tokens("football", tags, "eu-west", "match", f"u-{i}")
                   for i, tags in enumerate([["goal"], ["goal", "team-home"], [], ["save", "corner", "live"]])]
    rows = hash_feature_rows(token_lists)
    assert rows.shape == (4, FEATURES) and rows.dtype == np.float32
    for row, tokens in zip(rows, token_lists):
        assert np.allclose(row, hash_features(tokens))
    assert hash_feature_rows([]).shape == (0, FEATURES)


def test_committed_weights_are_the_seeded_ones():
    """tools/triton/make_weights.py wrote models/query_encoder/1/weights.npz from make_weights()."""
    local = LocalEncoder(MODELS)
    for name, expected in make_weights(CatalogSpec()).items():
        assert np.array_equal(local.weights[name], expected), name


def test_local_encoder_gives_unit_queries_near_the_catalog():
    local = LocalEncoder(MODELS)
    q = local.encode(features(16))
    assert q.shape == (16, 64) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(q, axis=1), 1, atol=1e-5)
    assert len({row.tobytes() for row in q}) >= 12  # users differ, so do their queries (up to hash collisions)
    # a query is a mixture of prototypes (catalog cluster centres): it lies close to at least one
    assert (q @ local.weights["prototypes"].T).max(axis=1).min() > 0.5


class Flaky:
    name = "triton"

    def __init__(self) -> None:
        self.up = True
        self.calls = 0

    def encode(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        if not self.up:
            raise EncoderUnavailable("server gone")
        return np.zeros((len(x), 64), dtype=np.float32)


def test_fallback_encoder_counts_and_retries_after_a_pause():
    primary, local = Flaky(), LocalEncoder(MODELS)
    encoder = FallbackEncoder(primary, local, retry_after_s=3600)
    assert encoder.encode_with_source(features(2))[1] == "triton"
    primary.up = False
    q, source = encoder.encode_with_source(features(2))
    assert source == "local" and np.allclose(q, local.encode(features(2)))
    encoder.encode_with_source(features(2))  # within retry_after_s: the dead server is not called again
    assert primary.calls == 2 and encoder.failures == 1 and encoder.calls == {"triton": 1, "local": 2}
    encoder.retry_after_s = 0
    encoder._down_until = 0
    primary.up = True
    assert encoder.encode_with_source(features(1))[1] == "triton"


def test_without_fallback_the_failure_surfaces():
    primary = Flaky()
    primary.up = False
    with pytest.raises(EncoderUnavailable, match="no fallback"):
        FallbackEncoder(primary, None).encode(features(1))


def test_context_encoder_for_the_ad_sampler():
    encoder = ContextEncoder(LocalEncoder(MODELS))
    goal = encoder.encode(category="football", scene_tags=["goal", "team-home"], region="eu-west")
    assert goal.shape == (64,) and abs(float(np.linalg.norm(goal)) - 1) < 1e-5
    assert np.array_equal(goal, encoder.encode(category="football", scene_tags=["goal", "team-home"],
                                               region="eu-west"))


def test_missing_triton_venv_is_a_clear_error(tmp_path):
    with pytest.raises(TritonError, match="setup-venv.sh"):
        server_dir(tmp_path)
    with pytest.raises(TritonError, match="setup-venv.sh"):
        TritonServer(MODELS, venv=tmp_path / "nowhere").start()


def test_server_environment_puts_the_venvs_own_python_first(tmp_path):
    venv = tmp_path / "venv"
    root = venv / "lib/python3.11/site-packages/pytriton/tritonserver"
    (root / "backends/python").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /opt/python3.11.7/bin\ninclude-system-site-packages = false\n")
    env = server_environment(venv, root)
    libs = env["LD_LIBRARY_PATH"].split(":")
    assert libs[0] == "/opt/python3.11.7/lib"  # libpython of the venv's interpreter, not the system's
    assert libs[1] == str(venv / "lib/python3.11/site-packages/nvidia_pytriton.libs")
    assert env["PATH"].split(":")[0] == str(venv / "bin")  # the stub's python3 (numpy < 2)
    assert "PYTHONPATH" not in env
