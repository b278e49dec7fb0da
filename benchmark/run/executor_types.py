"""What an executor is: the :class:`Executor` protocol and what every executor is given, the
spec's :class:`RunContext`, whose event bus it announces what happens to the runs on. The executors
themselves are in :mod:`benchmark.run.executor` (``local``) and :mod:`benchmark.run.ray`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from benchmark.events import Events
from benchmark.registry.loading import Registries
from benchmark.run.config import RunConfig
from benchmark.run.data import PreparedData
from benchmark.run.execute import EvaluationFailed
from benchmark.run.store import RunStore
from benchmark.spec.schema import Spec


@dataclass
class RunContext:
    """What every run of a spec shares: the spec, its plugins, its prepared data (one per
    patch variant), the store and the home they live in."""

    spec: Spec
    regs: Registries
    store: RunStore
    prepared: dict[str, PreparedData]  # patch variant -> data
    home: Path
    checkpoint_every_s: float = 30.0
    events: Events = field(default_factory=Events)  # where runs and the stages inside them announce what happens

    def data(self, run: RunConfig) -> PreparedData:
        return self.prepared[run.variant]


class Executor(Protocol):
    """Runs ``todo`` (runs not yet done) to completion or failure; returns the failures."""

    def execute(self, todo: Sequence[RunConfig], context: RunContext) -> list[EvaluationFailed]: ...
