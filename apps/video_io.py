"""Video source and sink built from a config's ``source`` and ``sink`` sections, shared by every video app."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediagrid.broadcast.feed import check_url
from mediagrid.broadcast.hls import HlsSettings
from mediagrid.broadcast.live_input import LiveInput, LiveSettings
from mediagrid.config import AppConfig
from mediagrid.errors import MediaError, UsageError
from mediagrid.media.codecs import frame_layout, probe
from mediagrid.media.compositor import Canvas
from mediagrid.media.yuv import Colour, check_size
from mediagrid.run_context import RunContext
from mediagrid.operators.live import HlsSinkOp, LiveSourceOp, TsSinkOp
from mediagrid.operators.video import FileSinkOp, FileSourceOp, NullSinkOp, SyntheticSourceOp


@dataclass(frozen=True)
class StreamFormat:
    """What the source's frames will be, known before the first one: for apps that lay out graphics or slots
    and for an encoder that starts before the first frame."""

    width: int
    height: int
    fps: float
    colour: Colour
    live: LiveInput | None = None  # a live source's input, shared by the source and the outputs

    def canvas(self, ctx: RunContext) -> Canvas:
        """What graphics for this stream are prepared for."""
        return Canvas(self.colour, self.height, frame_layout(ctx.backend), ctx.backend)


def stream_format(config: AppConfig, ctx: RunContext) -> StreamFormat:
    """The config's for a synthetic source (BT.709, limited range), the file's for a file source (rate
    overridable by ``source.fps``), the feed's first picture's for a live source (which is connected here, and
    closed with the run's resources)."""
    src = config.source
    if src.kind == "live":
        live = LiveInput.open(LiveSettings.from_section(src.live, f"{config.path}: source.url"),
                              frame_layout(ctx.backend))
        ctx.resources.callback(live.close)
        ctx.reports["live"] = live.as_dict
        fmt = live.format
        return StreamFormat(fmt.width, fmt.height, fmt.fps, fmt.colour, live)
    if src.kind != "file":
        width, height, fps, colour = src.width, src.height, src.fps, Colour()
    else:
        info = probe(src.path)
        width, height, fps, colour = info.width, info.height, src.fps or info.fps, info.colour
        if not fps:
            raise MediaError(f"{src.path}: the file does not state its frame rate; set source.fps")
    try:
        check_size(width, height, f"{config.path}: source" if src.kind != "file" else str(src.path))
    except ValueError as exc:
        raise (UsageError if src.kind != "file" else MediaError)(str(exc)) from exc
    return StreamFormat(width, height, fps, colour)


def make_source(app: Any, config: AppConfig, ctx: RunContext, budget_ns: int, *, pacing: str = "realtime",
                fps: float | None = None, stream: StreamFormat | None = None) -> Any:
    """A video source as the config's ``source`` section describes (shared by the video apps).

    ``pacing`` is ``realtime`` (a live tick grid) or ``throughput`` (as fast as the path takes frames);
    ``fps`` stands in for a file source's rate when the config leaves ``source.fps`` out. A live source plays out
    by the feed's own clock whatever the pacing (``stream`` carries its input).
    """
    src = config.source
    if stream is not None and stream.live is not None:
        return LiveSourceOp(app, live=stream.live, stream_id=config.node.id, budget_ns=budget_ns,
                            recorder=ctx.recorder, control=ctx.control, backend=ctx.backend, name="source")
    common = dict(stream_id=config.node.id, fps=src.fps or fps, budget_ns=budget_ns, recorder=ctx.recorder,
                  control=ctx.control, backend=ctx.backend, pacing=pacing, name="source")
    if src.kind == "file":
        return FileSourceOp(app, path=src.path, loop=src.loop, **common)
    return SyntheticSourceOp(app, width=src.width, height=src.height, pattern=src.pattern, **common)


def make_sink(app: Any, config: AppConfig, ctx: RunContext, stream: StreamFormat) -> Any:
    """The config's ``sink``: ``null`` discards, ``file`` encodes, ``hls`` publishes live HLS with the live input's
    audio and ad breaks (shared by the video apps), starting the encoder before the first frame and declaring
    the source's colours."""
    sink = config.sink
    common = dict(recorder=ctx.recorder, control=ctx.control, backend=ctx.backend, name="sink")
    if sink.kind == "hls":
        settings = HlsSettings(sink.dir, segment_s=sink.segment_s, window=sink.window, codec=sink.codec,
                               preset=sink.preset)
        op = HlsSinkOp(app, settings=settings, live=stream.live, fps=stream.fps,
                       frame_size=(stream.width, stream.height), colour=stream.colour, app_name=config.app, **common)
        ctx.reports["hls"] = lambda: {"dir": str(sink.dir), **op.writer.counts.as_dict()}
        return op
    if sink.kind == "live":
        op = TsSinkOp(app, url=check_url(sink.url, f"{config.path}: sink.url"), live=stream.live, fps=stream.fps,
                      frame_size=(stream.width, stream.height), colour=stream.colour, codec=sink.codec,
                      preset=sink.preset, **common)
        ctx.reports["ts_out"] = lambda: {"url": sink.url, **vars(op.writer.counts)}
        return op
    if sink.kind == "file":
        return FileSinkOp(app, path=sink.path, fps=config.source.fps or stream.fps, codec=sink.codec,
                          preset=sink.preset, frame_size=(stream.width, stream.height), colour=stream.colour,
                          **common)
    return NullSinkOp(app, **common)
