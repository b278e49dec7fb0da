"""Who runs a spec's unfinished runs: an :class:`Executor`. ``local`` runs them one
after another in this process; ``ray`` (``benchmark/run/ray.py``) makes each one a Ray
task anywhere on a cluster. Both go through :func:`benchmark.run.execute.execute_locked`,
so a run another process holds is never computed twice, and both announce what happens
to the runs as events on the context's bus (the display subscribes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmark.events import EpochEnded, RunFailed, RunFinished, RunStarted, RunWaiting
from benchmark.run.config import RunConfig
from benchmark.run.execute import EvaluationFailed, execute_locked, resume_note
from benchmark.run.executor_types import Executor, RunContext


@dataclass
class LocalExecutor:
    """One run after another, here. A run another process holds is left for last, then
    waited for: done by then, or taken over if that process stopped."""

    failures: list[EvaluationFailed] = field(default_factory=list)

    def _one(self, run: RunConfig, context: RunContext, wait: bool) -> bool:
        data, events = context.data(run), context.events
        here: list[bool] = []

        def start() -> None:
            here.append(True)
            note = resume_note(run, context.store, data)
            events.emit(RunStarted("run", run.run_id, run.label, note, context.spec.training.max_epochs))

        try:
            result = execute_locked(
                run,
                data,
                context.regs,
                context.store,
                wait=wait,
                on_start=start,
                on_epoch=lambda record, max_epochs: events.emit(EpochEnded("run", run.run_id, record, max_epochs)),
                checkpoint_every_s=context.checkpoint_every_s,
                events=context.events,
            )
        except EvaluationFailed as failure:
            self.failures.append(failure)
            events.emit(RunFailed("run", run.run_id, failure.message))
            return True
        if result is None:
            return False
        events.emit(RunFinished("run", run.run_id, run.label, result.test.accuracy, bool(here)))
        return True

    def execute(self, todo: Sequence[RunConfig], context: RunContext) -> list[EvaluationFailed]:
        busy = []
        for run in todo:
            if not self._one(run, context, wait=False):
                lock = str(context.store.lock_path(run.run_id))
                context.events.emit(RunWaiting("run", run.run_id, run.label, lock))
                busy.append(run)
        for run in busy:
            self._one(run, context, wait=True)
        return self.failures


def executor(name: str, address: str | None = None) -> Executor:
    """The executor called ``name`` (``local`` or ``ray``)."""
    if name == "local":
        return LocalExecutor()
    from benchmark.run.ray import RayExecutor

    return RayExecutor(address)
