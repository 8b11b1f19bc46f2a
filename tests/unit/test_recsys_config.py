"""configs/recsys_rerank.yaml and its schema: valid, every section maps onto the dataclasses that read it."""
from __future__ import annotations

from mediagrid.config import load_app_config, validate_file
from mediagrid.recsys.worker import BatchSettings
from mediagrid.recsys.catalog import CatalogSpec
from mediagrid.recsys.index_store import IndexSpec
from mediagrid.recsys.ranking import RerankSettings
from tests.conftest import REPO

CONFIG = REPO / "configs/recsys_rerank.yaml"


def test_shipped_config_is_valid_and_complete():
    assert validate_file(CONFIG) == []
    cfg = load_app_config(CONFIG)
    own = cfg.sections["recsys"]
    assert cfg.deadlines.budget_ns("request") == 200_000_000 and cfg.deadlines.policy == "degrade"
    assert CatalogSpec.from_config(own["catalog"]) == CatalogSpec(items=100_000, seed=7)
    assert IndexSpec.from_config(own["index"]) == IndexSpec(kind="ivf", nprobe=16, degraded_nprobe=4)
    assert RerankSettings.from_config(own["rerank"]) == RerankSettings()  # schema defaults = dataclass defaults
    assert BatchSettings(**own["batching"]) == BatchSettings()
    assert own["encoder"] == {"triton": "embedded", "model_repository": "models", "timeout_ms": 50,
                              "retry_after_ms": 1000, "fallback": "local"}


def test_bad_values_are_named_with_their_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONFIG.read_text().replace("triton: embedded", "triton: somewhere")
                   .replace("kind: ivf", "kind: pq"))
    assert {issue.field for issue in validate_file(bad)} == {"recsys.encoder.triton", "recsys.index.kind"}
