"""The real Triton Inference Server (the tritonserver binary from the nvidia-pytriton wheel, in its own
numpy<2 venv) serving the project's query encoder, called over gRPC by tritonclient."""
from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import numpy as np
import pytest

from mediagrid.recsys.query_encoder import EncoderUnavailable, FallbackEncoder, LocalEncoder
from mediagrid.recsys.triton import TritonEncoder, TritonError, TritonServer, server_dir, triton_venv
from tests.conftest import REPO
from tests.integration.conftest import _unavailable
from tests.unit.test_recsys_encoder import features

pytestmark = pytest.mark.integration
MODELS = REPO / "models"
VENV = REPO / ".cache/triton-venv"


def require_triton_venv() -> None:
    """Skip (fail in CI) when tools/triton/setup-venv.sh has not made the Triton venv."""
    try:
        server_dir(triton_venv(VENV))
    except TritonError as exc:
        _unavailable(str(exc))


def start_triton() -> TritonServer:
    require_triton_venv()
    return TritonServer(MODELS, venv=VENV).start()


@pytest.fixture(scope="session")
def triton_server() -> Iterator[TritonServer]:
    server = start_triton()
    yield server
    server.stop()


def test_server_answers_like_the_in_process_model(triton_server):
    x = features(64)
    remote = TritonEncoder(triton_server.grpc_url, timeout_s=5).encode(x)
    assert remote.shape == (64, 64) and np.any(remote)  # numpy<2 in the stub: no silent empty answers
    np.testing.assert_allclose(remote, LocalEncoder(MODELS).encode(x), atol=1e-5)


def test_server_listens_on_its_own_loopback_ports(triton_server):
    ports = {triton_server.grpc_port, triton_server.http_port, triton_server.metrics_port}
    assert len(ports) == 3
    with urllib.request.urlopen(f"http://127.0.0.1:{triton_server.http_port}/v2/health/ready", timeout=5) as r:
        assert r.status == 200
    with urllib.request.urlopen(f"http://127.0.0.1:{triton_server.metrics_port}/metrics", timeout=5) as r:
        assert b"nv_inference_request_success" in r.read()


def test_stopped_server_falls_back_to_the_local_model():
    server = start_triton()
    encoder = FallbackEncoder(TritonEncoder(server.grpc_url, timeout_s=2), LocalEncoder(MODELS), retry_after_s=60)
    assert encoder.encode_with_source(features(4))[1] == "triton"
    server.stop()
    assert not server.is_running()
    with pytest.raises(EncoderUnavailable):
        TritonEncoder(server.grpc_url, timeout_s=2).encode(features(1))
    queries, source = encoder.encode_with_source(features(4))
    assert source == "local" and encoder.failures == 1 and queries.shape == (4, 64)
