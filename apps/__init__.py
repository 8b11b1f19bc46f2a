"""One Holoscan application per use case, each composed from its validated YAML config.

Apps are imported lazily by name, so ``mediagrid validate`` and the CLI's help never pay for Holoscan.
"""
from __future__ import annotations

import importlib
from typing import Any

# app name (the config's ``app:``) -> "module:class" inside mediagrid.apps
REGISTRY: dict[str, str] = {
    "passthrough": "passthrough:PassthroughApp",
    "ingest": "ingest:IngestApp",
    "live_translation": "live_translation:LiveTranslationApp",
    "recsys_rerank": "recsys_rerank:RecsysRerankApp",
    "sports_overlay": "sports_overlay:SportsOverlayApp",
    "ad_insertion": "ad_insertion:AdInsertionApp",
}


def app_class(name: str) -> Any:
    """The Application class for ``name``; the config schema has already rejected unknown names."""
    module_name, class_name = REGISTRY[name].split(":")
    return getattr(importlib.import_module(f"mediagrid.apps.{module_name}"), class_name)
