"""What an app needs from the run that hosts it: the device backend, the recorder, the run control, and the
exit stack that owns the run's resources."""
from __future__ import annotations

from contextlib import ExitStack
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.control import RunControl
from mediagrid.runtime.device import Backend


@dataclass
class RunContext:
    """``resources`` is the one place a run's long-lived resources are opened on (child servers, worker
    threads, consumer bridges): an app's ``compose()`` enters them here, and the runner closes them, newest
    first, once the graph has ended or when composing failed half way, so nothing is left running and
    nothing is closed from ``compute()``."""

    backend: Backend
    recorder: OutcomeRecorder
    control: RunControl
    out_dir: Path | None = None  # the run directory: apps write snapshot PNGs and output files here
    kafka: Any = None  # a mediagrid.kafka.session.KafkaSession when the config has a kafka section
    resources: ExitStack = field(default_factory=ExitStack)
    # sections an app adds to the run summary (name -> what to write), computed once the graph has ended
    reports: dict[str, Callable[[], Any]] = field(default_factory=dict)
