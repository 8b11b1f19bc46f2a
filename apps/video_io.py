"""Video source and sink built from a config's ``source`` and ``sink`` sections, shared by every video app."""
from __future__ import annotations

from typing import Any

from mediagrid.config import AppConfig
from mediagrid.errors import MediaError
from mediagrid.media.codecs import probe
from mediagrid.run_context import RunContext
from mediagrid.operators.video import FileSinkOp, FileSourceOp, NullSinkOp, SyntheticSourceOp


def make_source(app: Any, config: AppConfig, ctx: RunContext, budget_ns: int, *, pacing: str = "realtime",
                fps: float | None = None) -> Any:
    """A video source as the config's ``source`` section describes (shared by the video apps).

    ``pacing`` is ``realtime`` (a live tick grid) or ``throughput`` (as fast as the path takes frames);
    ``fps`` stands in for a file source's rate when the config leaves ``source.fps`` out.
    """
    src = config.source
    common = dict(stream_id=config.node.id, fps=src.fps or fps, budget_ns=budget_ns, recorder=ctx.recorder,
                  control=ctx.control, backend=ctx.backend, pacing=pacing, name="source")
    if src.kind == "file":
        return FileSourceOp(app, path=src.path, loop=src.loop, **common)
    return SyntheticSourceOp(app, width=src.width, height=src.height, pattern=src.pattern, **common)


def make_sink(app: Any, config: AppConfig, ctx: RunContext, *, fps: float | None = None,
              frame_size: tuple[int, int] | None = None) -> Any:
    """The config's ``sink``: ``null`` discards, ``file`` encodes (shared by the video apps); ``fps`` as in
    :func:`make_source`; with ``frame_size`` (width, height) the encoder starts before the first frame."""
    sink = config.sink
    common = dict(recorder=ctx.recorder, control=ctx.control, backend=ctx.backend, name="sink")
    if sink.kind == "file":
        return FileSinkOp(app, path=sink.path, fps=config.source.fps or fps, codec=sink.codec, preset=sink.preset,
                          frame_size=frame_size, **common)
    return NullSinkOp(app, **common)


def frame_geometry(config: AppConfig) -> tuple[int, int, float]:
    """Width, height and rate of the source's frames, for apps that lay out graphics or slots before the
    first frame: the config's for a synthetic source, the file's (rate overridable by ``source.fps``)."""
    src = config.source
    if src.kind != "file":
        return src.width, src.height, src.fps
    info = probe(src.path)
    fps = src.fps or info.fps
    if not fps:
        raise MediaError(f"{src.path}: the file does not state its frame rate; set source.fps")
    return info.width, info.height, fps
