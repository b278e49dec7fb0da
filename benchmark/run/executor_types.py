"""What an executor is: the :class:`Executor` protocol and what every executor is given, the
spec's :class:`RunContext` and the :class:`RunEvents` it reports through. The executors
themselves are in :mod:`benchmark.run.executor` (``local``) and :mod:`benchmark.run.ray`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from benchmark.events import Events
from benchmark.registry.loading import Registries
from benchmark.run.config import RunConfig
from benchmark.run.data import PreparedData
from benchmark.run.execute import EvaluationFailed
from benchmark.run.result import RunResult
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
    events: Events = field(default_factory=Events)  # what the stages inside a run announce (evaluation steps)

    def data(self, run: RunConfig) -> PreparedData:
        return self.prepared[run.variant]


def _ignore(*args: Any) -> None:
    return None


@dataclass
class RunEvents:
    """Callbacks for what happens to the runs (all optional)."""

    started: Callable[[RunConfig, str | None], None] = _ignore  # run, resume note
    epoch: Callable[[RunConfig, Any, int], None] = _ignore  # run, epoch record, max epochs
    finished: Callable[[RunConfig, RunResult, bool], None] = _ignore  # run, result, computed here (not elsewhere)
    waiting: Callable[[RunConfig, Path], None] = _ignore  # run, lock held by another process
    failed: Callable[[RunConfig, EvaluationFailed], None] = _ignore


class Executor(Protocol):
    """Runs ``todo`` (runs not yet done) to completion or failure; returns the failures."""

    def execute(self, todo: Sequence[RunConfig], context: RunContext, events: RunEvents) -> list[EvaluationFailed]: ...
