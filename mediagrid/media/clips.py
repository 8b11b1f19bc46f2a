"""Test and demo media made by code: a football-pitch clip (H.264, PyAV) and ad creatives (PNG with alpha).

Nothing here is downloaded or committed as video: the same call gives the same pixels, so tests can compare
outputs with what they expect, and a benchmark on another machine makes its own input.

    python -m mediagrid.media.clips clip media/match-720p60.mp4 --width 1280 --height 720 --fps 60 --seconds 10
    python -m mediagrid.media.clips creatives assets/creatives
"""
from __future__ import annotations

import argparse
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GRASS = ((34, 139, 34), (46, 154, 46))  # mowing stripes, RGB


@functools.cache
def _panorama(height: int, width: int) -> np.ndarray:
    """The grass the camera pans over, twice the picture's width: 12 mowing stripes per picture width and a
    seeded +-6 level texture (made once per size; a frame is a window of it)."""
    stripe = (np.arange(2 * width) * 12 // width % 2).astype(np.intp)
    texture = np.random.default_rng(7).integers(-6, 7, (height, 2 * width, 1), dtype=np.int16)
    return np.clip(np.array(GRASS, dtype=np.int16)[stripe][None] + texture, 0, 255).astype(np.uint8)


def pitch_frame(index: int, width: int, height: int, fps: float) -> np.ndarray:
    """Frame ``index`` of a camera panning over a pitch: mowing stripes, lines, a moving ball, grass texture."""
    import cv2  # noqa: PLC0415

    pan = int(index * width / (8 * fps))  # the camera pans an eighth of the picture per second
    frame = _panorama(height, width)[:, pan % width:pan % width + width].copy()
    white, line = (235, 235, 235), max(height // 180, 2)
    cv2.line(frame, (0, height // 10), (width - 1, height // 10), white, line)  # touchline
    halfway = int(width * 1.25 - pan) % int(width * 1.5)
    cv2.line(frame, (halfway, height // 10), (halfway, height - 1), white, line)
    t = index / fps
    ball = (int(width / 2 + width / 3 * np.sin(t * 1.7)), int(height * (0.55 + 0.25 * np.cos(t * 1.1))))
    cv2.circle(frame, ball, max(height // 60, 3), (250, 250, 250), -1, cv2.LINE_AA)
    return frame


def make_clip(path: Path, *, seconds: float, width: int, height: int, fps: float = 60.0,
              preset: str = "veryfast") -> Path:
    """An H.264 clip of :func:`pitch_frame` pictures (BT.709, limited range, as a broadcaster's HD feed),
    encoded with the sink's own writer (x264 via PyAV)."""
    import av  # noqa: PLC0415 - keeps `import mediagrid.media.clips` light

    from mediagrid.media.codecs import PyAVWriter  # noqa: PLC0415
    from mediagrid.runtime.device import select_backend  # noqa: PLC0415

    writer = PyAVWriter(Path(path), fps=fps, codec="h264", preset=preset, backend=select_backend("cpu"))
    for index in range(round(seconds * fps)):
        rgb = av.VideoFrame.from_ndarray(pitch_frame(index, width, height, fps), format="rgb24")
        writer.write(rgb.reformat(format="yuv420p", dst_colorspace="ITU709").to_ndarray(), index)
    writer.close()
    return Path(path)


@dataclass(frozen=True)
class CreativeSpec:
    """What a generated creative looks like: size, text and colours (RGB)."""

    name: str
    width: int
    height: int
    text: str
    fill: tuple[int, int, int]
    accent: tuple[int, int, int]
    ink: tuple[int, int, int] = (255, 255, 255)


#: The creatives of configs/scenarios/football-match.yaml, plus a night variant of the energy drink.
CREATIVES: tuple[CreativeSpec, ...] = (
    CreativeSpec("sportswear-boots", 1200, 150, "STRIKER BOOTS  -  NEW SEASON", (200, 30, 40), (255, 210, 0)),
    CreativeSpec("energy-drink", 480, 210, "VOLT", (20, 60, 200), (120, 255, 60)),
    CreativeSpec("energy-drink-night", 480, 210, "VOLT", (15, 15, 25), (255, 60, 200), (120, 255, 60)),
    CreativeSpec("telco-5g", 1200, 150, "ULTRA 5G  |  WATCH EVERY ANGLE", (90, 20, 140), (0, 220, 255)),
)


def creative_image(spec: CreativeSpec) -> np.ndarray:
    """A banner as straight-alpha RGBA: a translucent panel with an opaque border and text, and a fully
    transparent margin, so a blend meets every kind of alpha."""
    import cv2  # noqa: PLC0415

    w, h = spec.width, spec.height
    margin, border = h // 12, max(h // 25, 2)
    image = np.zeros((h, w, 4), dtype=np.uint8)
    cv2.rectangle(image, (margin, margin), (w - margin - 1, h - margin - 1), (*spec.fill, 200), thickness=-1)
    cv2.rectangle(image, (margin, margin), (w - margin - 1, h - margin - 1), (*spec.accent, 255), thickness=border)
    scale = h / 90
    (tw, th), _ = cv2.getTextSize(spec.text, cv2.FONT_HERSHEY_DUPLEX, scale, max(int(scale * 2), 1))
    if tw > w - 4 * margin:
        scale *= (w - 4 * margin) / tw
        (tw, th), _ = cv2.getTextSize(spec.text, cv2.FONT_HERSHEY_DUPLEX, scale, max(int(scale * 2), 1))
    cv2.putText(image, spec.text, ((w - tw) // 2, (h + th) // 2), cv2.FONT_HERSHEY_DUPLEX, scale,
                (*spec.ink, 255), max(int(scale * 2), 1), cv2.LINE_AA)
    return image


def write_rgba_png(path: Path, rgba: np.ndarray) -> Path:
    import cv2  # noqa: PLC0415

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)):
        raise OSError(f"{path}: cannot write the PNG")
    return path


def make_creatives(directory: Path, specs: Sequence[CreativeSpec] = CREATIVES) -> dict[str, Path]:
    """Write every creative as ``<name>.png`` into ``directory``; returns name -> path."""
    return {spec.name: write_rgba_png(Path(directory) / f"{spec.name}.png", creative_image(spec)) for spec in specs}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mediagrid.media.clips", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    clip = sub.add_parser("clip", help="write a football-pitch H.264 clip")
    clip.add_argument("path", type=Path)
    clip.add_argument("--seconds", type=float, default=10.0)
    clip.add_argument("--width", type=int, default=1280)
    clip.add_argument("--height", type=int, default=720)
    clip.add_argument("--fps", type=float, default=60.0)
    creatives = sub.add_parser("creatives", help="write the demo creatives as PNG files with alpha")
    creatives.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.what == "clip":
        print(make_clip(args.path, seconds=args.seconds, width=args.width, height=args.height, fps=args.fps))
    else:
        for path in make_creatives(args.directory).values():
            print(path)


if __name__ == "__main__":
    main()
