"""Shared test setup: quiet Holoscan, the repository root, the CLI in a subprocess, generated media."""
from __future__ import annotations

import os

os.environ.setdefault("HOLOSCAN_LOG_LEVEL", "ERROR")  # before anything imports Holoscan

import subprocess  # noqa: E402
import sys  # noqa: E402
from fractions import Fraction  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def run_cli(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """Run ``mediagrid ARGS`` as a user would, from the repository root."""
    env = {**os.environ, "HOLOSCAN_LOG_LEVEL": "ERROR", **kwargs.pop("env", {})}
    return subprocess.run([sys.executable, "-m", "mediagrid.cli", *args], cwd=REPO, env=env, timeout=timeout,
                          capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="session")
def cli():
    return run_cli


def write_clip(path: Path, frames: int = 20, width: int = 320, height: int = 240, fps: int = 30) -> Path:
    """A small H.264 clip made with PyAV: frame i is a flat grey of level 10*i, easy to check after decode."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            picture = np.full((height, width, 3), (10 * i) % 256, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("media") / "clip.mp4")
