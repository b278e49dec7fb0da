"""Who runs a spec's unfinished runs: an :class:`Executor`. ``local`` runs them one
after another in this process; ``ray`` (``benchmark/run/ray.py``) makes each one a Ray
task anywhere on a cluster. Both go through :func:`benchmark.run.execute.execute_locked`,
so a run another process holds is never computed twice, and both report what happens
through the same :class:`RunEvents` (the progress display, log lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmark.run.config import RunConfig
from benchmark.run.execute import EvaluationFailed, execute_locked, resume_note
from benchmark.run.executor_types import Executor, RunContext, RunEvents


@dataclass
class LocalExecutor:
    """One run after another, here. A run another process holds is left for last, then
    waited for: done by then, or taken over if that process stopped."""

    failures: list[EvaluationFailed] = field(default_factory=list)

    def _one(self, run: RunConfig, context: RunContext, events: RunEvents, wait: bool) -> bool:
        data = context.data(run)
        here: list[bool] = []

        def start() -> None:
            here.append(True)
            events.started(run, resume_note(run, context.store, data))

        try:
            result = execute_locked(
                run,
                data,
                context.regs,
                context.store,
                wait=wait,
                on_start=start,
                on_epoch=lambda record, max_epochs: events.epoch(run, record, max_epochs),
                checkpoint_every_s=context.checkpoint_every_s,
                events=context.events,
            )
        except EvaluationFailed as failure:
            self.failures.append(failure)
            events.failed(run, failure)
            return True
        if result is None:
            return False
        events.finished(run, result, bool(here))
        return True

    def execute(self, todo: Sequence[RunConfig], context: RunContext, events: RunEvents) -> list[EvaluationFailed]:
        busy = []
        for run in todo:
            if not self._one(run, context, events, wait=False):
                events.waiting(run, context.store.lock_path(run.run_id))
                busy.append(run)
        for run in busy:
            self._one(run, context, events, wait=True)
        return self.failures


def executor(name: str, address: str | None = None) -> Executor:
    """The executor called ``name`` (``local`` or ``ray``)."""
    if name == "local":
        return LocalExecutor()
    from benchmark.run.ray import RayExecutor

    return RayExecutor(address)
