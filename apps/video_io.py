"""Video source and sink built from a config's ``source`` and ``sink`` sections, shared by every video app."""
from __future__ import annotations

from typing import Any

from mediagrid.config import AppConfig
from mediagrid.runtime.context import RunContext
from mediagrid.operators.video import FileSinkOp, FileSourceOp, NullSinkOp, SyntheticSourceOp


def make_source(app: Any, config: AppConfig, ctx: RunContext, budget_ns: int) -> Any:
    """A paced video source as the config's ``source`` section describes (shared by the video apps)."""
    src = config.source
    common = dict(stream_id=config.node.id, fps=src.fps, budget_ns=budget_ns, recorder=ctx.recorder,
                  control=ctx.control, backend=ctx.backend, name="source")
    if src.kind == "file":
        return FileSourceOp(app, path=src.path, loop=src.loop, **common)
    return SyntheticSourceOp(app, width=src.width, height=src.height, pattern=src.pattern, **common)


def make_sink(app: Any, config: AppConfig, ctx: RunContext) -> Any:
    """The config's ``sink``: ``null`` discards, ``file`` encodes (shared by the video apps)."""
    sink = config.sink
    common = dict(recorder=ctx.recorder, control=ctx.control, name="sink")
    if sink.kind == "file":
        return FileSinkOp(app, path=sink.path, fps=config.source.fps, codec=sink.codec, preset=sink.preset,
                          backend=ctx.backend, **common)
    return NullSinkOp(app, **common)
