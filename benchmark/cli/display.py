"""What a user sees while a spec runs: one subscriber to the run's events. On a terminal,
rich progress bars (patch preparation, the runs, each run's epochs and evaluation steps);
elsewhere (CI logs, a pipe) one plain line per event. The orchestration
(:func:`benchmark.run.spec_runs.run_spec`) never prints; it emits, and this listens.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from benchmark.events import (
    Advanced,
    Done,
    EpochEnded,
    Event,
    Note,
    Prepared,
    RunFailed,
    RunFinished,
    RunsPlanned,
    RunStarted,
    RunWaiting,
    Started,
    Warned,
)


class Display:
    """A context manager (the progress bars live while it is entered) and an event listener."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not self.live,
        )
        self.tasks: dict[str, TaskID] = {}  # run id or patch variant -> its bar
        self.overall: TaskID | None = None

    def __enter__(self) -> Display:
        self.progress.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.progress.__exit__(kind, exc, tb)

    def _print(self, text: str, style: str | None = None) -> None:  # shown either way
        # never read as markup: labels carry options in brackets (tiny-net[width=8])
        self.progress.console.print(text, style=style, highlight=False, markup=False, soft_wrap=True)

    def _line(self, text: str) -> None:  # an event, when there are no progress bars to show it
        if not self.live:
            self.console.print(text, highlight=False, markup=False, soft_wrap=True)

    def __call__(self, event: Event) -> None:
        if isinstance(event, Started) and event.stage == "prepare":
            self.tasks[f"prepare {event.subject}"] = self.progress.add_task(escape(event.subject), total=None, info="")
        elif isinstance(event, Advanced) and f"prepare {event.subject}" in self.tasks:
            self.progress.update(self.tasks[f"prepare {event.subject}"], completed=event.done, total=event.total)
        elif isinstance(event, Prepared):
            cache = " (cache)" if event.cache_hit else ""
            task = self.tasks.get(f"prepare {event.subject}")
            if task is not None:
                self.progress.update(task, total=1, completed=1, info=f"{event.patches} patches{cache}")
            from_cache = " (from the cache)" if event.cache_hit else ""
            self._line(f"{event.subject}: {event.patches} patches{from_cache} in {event.seconds:.1f} s")
        elif isinstance(event, Warned):
            self.progress.console.print(f"[yellow]warning:[/] {escape(event.message)}", highlight=False, soft_wrap=True)
        elif isinstance(event, Note):
            self._print(event.message)
        elif isinstance(event, RunsPlanned):
            self.overall = self.progress.add_task("runs", total=event.total, completed=event.done, info="")
        elif isinstance(event, RunStarted):
            if event.note:
                self._print(f"  {event.note}")
            self.tasks[event.subject] = self.progress.add_task(
                escape(f"  {event.label}"), total=event.max_epochs, info=""
            )
            self._line(f"  run {event.subject} ({event.label}): started")
        elif isinstance(event, EpochEnded):
            self._epoch(event)
        elif isinstance(event, RunFinished):
            self._finished(event)
        elif isinstance(event, RunWaiting):
            self._print(
                f"  {event.label}: another process is running it (lock {event.lock}); waiting for it after the "
                "other runs"
            )
        elif isinstance(event, RunFailed):
            if event.subject in self.tasks:
                self.progress.update(self.tasks[event.subject], info="evaluation failed (training kept)")
            self._print(f"  {event.message}", style="red")
        elif isinstance(event, Done):  # an evaluation step, inside a run
            if event.subject in self.tasks:
                self.progress.update(self.tasks[event.subject], info=escape(f"{event.stage}: {event.summary}"))
            self._line(f"  run {event.subject}: {event.stage} {event.summary} ({event.seconds:.1f} s)")

    def _epoch(self, event: EpochEnded) -> None:
        record = event.record
        self.progress.update(
            self.tasks[event.subject],
            completed=record.phase_epoch,
            total=event.max_epochs,
            info=f"phase {record.phase} · val loss {record.val_loss:.3f}",
        )
        self._line(
            f"  run {event.subject}: epoch {record.epoch} (phase {record.phase}, {record.phase_epoch} of at most "
            f"{event.max_epochs}): val loss {record.val_loss:.4f}, val accuracy {record.val_accuracy:.3f}"
        )

    def _finished(self, event: RunFinished) -> None:
        if event.subject in self.tasks:
            self.progress.update(self.tasks[event.subject], info=f"accuracy {event.accuracy:.3f}")
            self._line(f"  run {event.subject} ({event.label}): done, test accuracy {event.accuracy:.3f}")
        else:
            where = "" if event.here else " (by another process)"
            self._print(f"  done: {event.label} (accuracy {event.accuracy:.3f}){where}")
        if self.overall is not None:
            self.progress.advance(self.overall)
