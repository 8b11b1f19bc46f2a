"""What every mediagrid application shares: its config and run context, and the metadata rules."""
from __future__ import annotations

from mediagrid.config import AppConfig
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.run_context import RunContext

import_holoscan()
from holoscan.core import Application, MetadataPolicy  # noqa: E402


class MediagridApp(Application):
    """Base of the use-case apps. ``DEADLINE`` names the ``deadlines`` entry that end-to-end outcomes use."""

    DEADLINE = "frame"

    def __init__(self, config: AppConfig, ctx: RunContext) -> None:
        self.mg_config = config
        self.ctx = ctx
        super().__init__()
        # Stages update an item's flags (degraded, reuse) on its way through; the default policy raises.
        self.metadata_policy = MetadataPolicy.UPDATE
