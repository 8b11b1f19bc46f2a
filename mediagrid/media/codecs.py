"""Frame readers and writers for media files: PyAV on the CPU, pynvvideocodec (NVDEC/NVENC) on a GPU.

Kept free of Holoscan so that the video operators, benchmarks and tests share one implementation. Frames stay
4:2:0 YUV from the decoder to the encoder (:mod:`mediagrid.media.yuv`): the decoder's planes are copied into a
ring of frame buffers (i420 on the CPU, NVDEC's own nv12 on a GPU) and the encoder takes them as they are, so
no frame is ever converted to RGB and back. Other pixel formats (10-bit, 4:2:2, 4:4:4) are converted to 8-bit
4:2:0 by FFmpeg once, at decode. The output declares the colours the input declared (:class:`Colour`).

pynvvideocodec raises ``RuntimeError`` (not ``ImportError``) when the NVIDIA video libraries are missing, and a
CUDA failure inside its decoder constructor can end the process without an exception: it is imported only
when the backend already has a usable GPU, and every failure to import it is caught here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from mediagrid.errors import MediaError, UsageError
from mediagrid.media.yuv import Colour, Layout, empty, planes
from mediagrid.runtime.device import Backend

log = logging.getLogger(__name__)

RING = 12  # buffers a reader cycles through: more than the frames alive at once in a graph of capacity-1 ports
#           (one per operator and one per edge, ~10 for the ad insertion graph under a 2-worker scheduler)
NVENC_PRESETS = frozenset(f"p{n}" for n in range(1, 8))
_PYAV_ENCODERS = {"h264": "libx264", "hevc": "libx265"}
_MUX_TIMEBASE = 90_000


@dataclass(frozen=True)
class VideoInfo:
    """What a media file says about its first video stream."""

    width: int
    height: int
    fps: float | None
    frames: int
    colour: Colour = Colour()


class FrameReader(Protocol):
    """Decoded frames as 4:2:0 frame buffers of the backend's layout, on its device, in display order."""

    def read(self) -> Any | None:
        """The next frame (valid until ``RING`` more frames are read), or None at the end of the stream."""

    def skip(self) -> bool:
        """Decode the next frame without converting it (a late tick's frame: later frames may reference it);
        False at the end of the stream."""

    def rewind(self) -> None:
        """Start again from the first frame (for looping sources)."""

    def close(self) -> None: ...


class FrameWriter(Protocol):
    """Encodes 4:2:0 frame buffers of the backend's layout (on its device) into a file."""

    def open(self, height: int, width: int) -> None:
        """Create the file and the encoder now (otherwise the first frame does, and pays for it)."""

    def write(self, frame: Any, index: int) -> None:
        """Encode ``frame`` as frame number ``index`` of the output's frame grid."""

    def close(self) -> None:
        """Flush the encoder and finish the file."""


def probe(path: Path) -> VideoInfo:
    """Size, rate and frame count of the first video stream; a clear :class:`MediaError` if there is none."""
    import av  # noqa: PLC0415 - only file sources need PyAV

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            return VideoInfo(stream.codec_context.width, stream.codec_context.height,
                             float(rate) if rate else None, stream.frames, Colour.of(stream.codec_context))
    except (av.error.FFmpegError, IndexError, OSError) as exc:
        raise MediaError(f"{path}: cannot open as video ({exc})") from exc


def nvvideocodec(backend: Backend) -> tuple[ModuleType | None, str]:
    """PyNvVideoCodec when the backend is a GPU and the module loads; else None and why not."""
    if backend.device != "gpu":
        return None, "the backend is the CPU"
    try:
        import PyNvVideoCodec  # noqa: PLC0415, N813 - optional, GPU only
    except (ImportError, RuntimeError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"pynvvideocodec unavailable ({first_line})"
    return PyNvVideoCodec, "pynvvideocodec loaded"


def open_reader(path: Path, backend: Backend) -> FrameReader:
    """NVDEC on a GPU backend when pynvvideocodec loads, else PyAV on the CPU (frames moved to the device)."""
    nvc, reason = nvvideocodec(backend)
    if nvc is not None:
        return NvDecReader(path, nvc, backend)
    if backend.device == "gpu":
        log.warning("%s: %s; decoding with PyAV on the CPU", path, reason)
    return PyAVReader(path, backend)


def frame_layout(backend: Backend) -> Layout:
    """The frame layout a backend's frames have: what its decoder gives and its encoder takes."""
    return "nv12" if backend.device == "gpu" else "i420"


def open_writer(path: Path, *, fps: float, codec: str, preset: str, backend: Backend,
                colour: Colour = Colour()) -> FrameWriter:
    """NVENC for the NVENC presets ``p1``..``p7`` (a GPU backend only), else libx264/libx265 through PyAV."""
    if preset not in NVENC_PRESETS:
        return PyAVWriter(path, fps=fps, codec=codec, preset=preset, backend=backend, colour=colour)
    nvc, reason = nvvideocodec(backend)
    if nvc is None:
        raise UsageError(f"sink.preset {preset} selects the NVENC encoder, but {reason}; use an x264 preset "
                         f"such as ultrafast, or device: gpu on a machine with NVENC")
    return NvEncWriter(path, nvc, fps=fps, codec=codec, preset=preset)


class PlaneRing:
    """Decoded PyAV frames copied into a ring of 4:2:0 frame buffers of one layout: FFmpeg reuses (and pads) its
    own pictures, the graph needs buffers that stay valid while ``size`` more frames are decoded."""

    def __init__(self, layout: Layout, size: int, where: str) -> None:
        self.layout = layout
        self.size = size
        self.where = where
        self._ring: list[np.ndarray] = []
        self._next = 0

    def put(self, frame: Any) -> np.ndarray:
        """The frame's Y, U and V planes in the next buffer (for nv12, U and V interleaved on the way)."""
        if frame.width % 2 or frame.height % 2:
            raise MediaError(f"{self.where}: a {frame.width}x{frame.height} picture cannot be carried as 4:2:0 YUV "
                             "(sizes must be even)")
        if frame.format.name not in ("yuv420p", "yuvj420p"):
            frame = frame.reformat(format="yuv420p")
        out = self._buffer(frame.height, frame.width)
        if self.layout == "nv12":
            y, uv = planes(out, "nv12")
            targets = (y, uv[:, 0::2], uv[:, 1::2])
        else:
            targets = planes(out, "i420")
        for plane, target in zip(frame.planes, targets):
            rows, cols = target.shape
            np.copyto(target, np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:rows, :cols])
        return out

    def _buffer(self, height: int, width: int) -> np.ndarray:
        if not self._ring or self._ring[0].shape != (height * 3 // 2, width):
            self._ring = [empty(width, height) for _ in range(self.size)]
        out = self._ring[self._next]
        self._next = (self._next + 1) % self.size
        return out


class PyAVReader:
    """PyAV decode with FFmpeg's slice threads; the decoded planes are copied into a ring of frame buffers."""

    def __init__(self, path: Path, backend: Backend, layout: Layout | None = None) -> None:
        self.path = Path(path)
        self.backend = backend
        self.layout = layout or frame_layout(backend)
        self.colour = Colour()
        self._container: Any = None
        self._frames: Any = None
        self._ring = PlaneRing(self.layout, RING, str(self.path))
        self._open()

    def _open(self) -> None:
        import av  # noqa: PLC0415

        try:
            self._container = av.open(str(self.path))
            stream = self._container.streams.video[0]
        except (av.error.FFmpegError, IndexError, OSError) as exc:
            raise MediaError(f"{self.path}: cannot open as video ({exc})") from exc
        # Slice threads, not frame threads: each frame thread holds a decoded frame back (a frame of delay per
        # thread, which a 16.7 ms deadline cannot carry on a live feed) and costs more CPU; slices (what
        # low-latency encoders emit) decode in parallel within the frame (perf/results/ad_insertion.md).
        stream.thread_type = "SLICE"
        self.colour = Colour.of(stream.codec_context)
        self._frames = self._container.decode(stream)

    def _decode(self) -> Any | None:
        import av  # noqa: PLC0415

        try:
            return next(self._frames)
        except StopIteration:
            return None
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"{self.path}: decoding failed ({exc})") from exc

    def read(self) -> Any | None:
        frame = self._decode()
        if frame is None:
            return None
        return self.backend.asarray(self._ring.put(frame))

    def skip(self) -> bool:
        return self._decode() is not None

    def rewind(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None


class NvDecReader:
    """NVDEC through pynvvideocodec: NV12 frames as the decoder makes them stay on the GPU (DLPack into cupy,
    no host copy) and are copied into a ring of device buffers, because the decoder reuses its surfaces."""

    def __init__(self, path: Path, nvc: ModuleType, backend: Backend) -> None:
        self.path = Path(path)
        self.xp = backend.xp
        try:
            self._decoder = nvc.SimpleDecoder(str(self.path), gpu_id=0, use_device_memory=True,
                                              output_color_type=nvc.OutputColorType.NATIVE)
            meta = self._decoder.get_stream_metadata()
        except Exception as exc:  # noqa: BLE001 - the native module raises plain Exception/RuntimeError
            raise MediaError(f"{self.path}: NVDEC cannot open it ({exc})") from exc
        self.colour = Colour()  # pynvvideocodec does not report the stream's colour tags
        self._shape = (int(meta.height) * 3 // 2, int(meta.width))
        self._ring = [self.xp.empty(self._shape, dtype=self.xp.uint8) for _ in range(RING)]
        self._next = 0

    def _decode(self) -> Any | None:
        try:
            decoded = self._decoder.get_batch_frames(1)
        except Exception as exc:  # noqa: BLE001
            raise MediaError(f"{self.path}: NVDEC decoding failed ({exc})") from exc
        return decoded[0] if decoded else None

    def skip(self) -> bool:
        return self._decode() is not None

    def read(self) -> Any | None:
        decoded = self._decode()
        if decoded is None:
            return None
        out = self._ring[self._next]
        self._next = (self._next + 1) % RING
        out[...] = self.xp.from_dlpack(decoded).reshape(self._shape)
        return out

    def rewind(self) -> None:
        self._decoder.seek_to_index(0)

    def close(self) -> None:
        self._decoder = None


class PyAVWriter:
    """libx264/libx265 through PyAV (``tune=zerolatency``: one packet per frame, no look-ahead), fed the frame's
    planes as they are (x264 takes i420 and nv12 alike) and tagged with the input's colours.

    x264 refreshes the picture with a moving intra column over one second (``intra-refresh``) instead of an
    IDR frame every ``keyint`` frames: an IDR costs about twice a P frame to encode, a spike that a 16.7 ms
    deadline does not absorb; this is the usual low-latency contribution setting.
    """

    def __init__(self, path: Path, *, fps: float, codec: str, preset: str, backend: Backend,
                 colour: Colour = Colour()) -> None:
        self.path = Path(path)
        self.rate = Fraction(fps).limit_denominator(1001)
        self.codec = codec
        self.preset = preset
        self.backend = backend
        self.colour = colour
        self.layout = frame_layout(backend)
        self._container: Any = None
        self._stream: Any = None

    def open(self, height: int, width: int) -> None:
        import av  # noqa: PLC0415

        if height % 2 or width % 2:
            raise MediaError(f"{self.path}: a {width}x{height} frame cannot be encoded as 4:2:0 (odd size)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._container = av.open(str(self.path), mode="w")
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"{self.path}: cannot create the output file ({exc})") from exc
        self._stream = self._container.add_stream(_PYAV_ENCODERS[self.codec], rate=self.rate)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        context = self._stream.codec_context
        context.colorspace, context.color_range = self.colour.space, self.colour.range
        context.color_primaries, context.color_trc = self.colour.primaries, self.colour.transfer
        options = {"preset": self.preset, "tune": "zerolatency"}
        if self.codec == "h264":
            options["x264-params"] = f"intra-refresh=1:keyint={max(round(float(self.rate)), 1)}"
        self._stream.options = options
        self._container.start_encoding()

    def write(self, frame: Any, index: int) -> None:
        import av  # noqa: PLC0415

        host = self.backend.to_host(frame)
        if self._container is None:
            self.open(host.shape[0] * 2 // 3, host.shape[1])
        # no copy: the AVFrame points into the frame buffer, and x264 has copied the picture when encode()
        # returns (zerolatency: no look-ahead holds it), before the source reuses the buffer
        video_frame = av.VideoFrame.from_numpy_buffer(host, format="nv12" if self.layout == "nv12" else "yuv420p")
        video_frame.pts = index
        video_frame.time_base = 1 / self.rate
        video_frame.colorspace, video_frame.color_range = self.colour.space, self.colour.range
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._container is not None:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
            self._container = None


class NvEncWriter:
    """NVENC through pynvvideocodec, fed the NV12 frame from device memory as it is; the bitstream is muxed into
    the file by pynvvideocodec's FFmpeg muxer with the encoder's SPS/PPS as extradata."""

    def __init__(self, path: Path, nvc: ModuleType, *, fps: float, codec: str, preset: str) -> None:
        self.path = Path(path)
        self.nvc = nvc
        self.rate = Fraction(fps).limit_denominator(1001)
        self.codec = codec
        self.preset = preset.upper()
        self._encoder: Any = None
        self._muxer: Any = None

    def open(self, height: int, width: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fps = round(float(self.rate))
        try:
            self._encoder = self.nvc.CreateEncoder(width, height, "NV12", False, codec=self.codec,
                                                   preset=self.preset, tuning_info="ultra_low_latency",
                                                   fps=fps, gop=fps, bf=0, gpu_id=0)
            self._muxer = self.nvc.FFmpegMuxer(
                file_path=str(self.path), media_format=self.nvc.GetMediaFormat(str(self.path)), codec=self.codec,
                width=width, height=height, fps_num=self.rate.numerator, fps_den=self.rate.denominator,
                timebase_num=1, timebase_den=_MUX_TIMEBASE, extradata=self._encoder.GetSequenceParams())
            self._muxer.SetUniformPtsIncrement(_MUX_TIMEBASE * self.rate.denominator // self.rate.numerator)
        except Exception as exc:  # noqa: BLE001 - e.g. a GPU without NVENC engines (H100)
            raise MediaError(f"{self.path}: NVENC cannot encode here ({exc})") from exc

    def write(self, frame: Any, index: int) -> None:
        if self._encoder is None:
            self.open(frame.shape[0] * 2 // 3, frame.shape[1])
        params = self.nvc.NV_ENC_PIC_PARAMS()
        params.inputTimeStamp = index
        self._mux(self._encoder.Encode(frame, params))

    def _mux(self, packets: list[dict[str, Any]]) -> None:
        for packet in packets:
            self._muxer.MuxVideoPacket(bytes(packet["data"]), packet["picture_type"], packet["timestamp"])

    def close(self) -> None:
        if self._encoder is not None:
            self._mux(self._encoder.EndEncode())
            self._muxer.Finalize()
            self._encoder = self._muxer = None
