"""What an app needs from the run that hosts it: the device backend, the recorder and the run control."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.control import RunControl
from mediagrid.runtime.device import Backend


@dataclass
class RunContext:
    backend: Backend
    recorder: OutcomeRecorder
    control: RunControl
    out_dir: Path | None = None  # the run directory: apps write snapshot PNGs and output files here
    kafka: Any = None  # a mediagrid.kafka.session.KafkaSession when the config has a kafka section
