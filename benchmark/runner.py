"""Run a whole spec with a progress display, then write its report.

Finished runs (a stored result for the same data) are skipped; an interrupted run
resumes from its last checkpoint. Runs execute one after another in this process (the
``ray`` executor spreads them over a cluster).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from benchmark.data.audit import Audit
from benchmark.errors import UserError
from benchmark.plugin_loading import registries
from benchmark.runs import RunConfig, describe_variant, expand
from benchmark.spec.schema import Spec
from benchmark.files import atomic_write_json
from benchmark.store import RunStore

AUDIT_FILE = "audit.json"


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                    TimeElapsedColumn(), console=console, transient=False)


def run_spec(spec: Spec, home: Path, reports_dir: Path, console: Console, checkpoint_every_s: float = 30.0,
             executor: str = "local", address: str | None = None) -> Path:
    """Run the spec's unfinished runs with the chosen executor, then write the report."""
    from benchmark.execution import EvaluationFailed, execute_locked, prepare_data, resume_note

    regs = registries(spec.plugins)
    store = RunStore(home / "runs", spec.name)
    runs = expand(spec)
    variants = spec.patch_variants()
    with _progress(console) as progress:
        prepared = {}
        for changes, params in variants:  # one patch set per patch-cutting variant (a cache hit when shared)
            name = "preparing patches" + (f" ({describe_variant(changes)})" if len(variants) > 1 else "")
            prep = progress.add_task(name, total=None, info="")
            data = prepare_data(spec, regs, home / "cache", params=params,
                                progress=lambda d, t, task=prep: progress.update(task, completed=d, total=t))
            progress.update(prep, total=1, completed=1, info=f"{len(data.patches)} patches" + (" (cache)" if data.cache_hit else ""))
            for warning in data.warnings:
                progress.console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
            if not prepared:  # the report's audit: the first variant's
                atomic_write_json(store.folder / AUDIT_FILE, data.patches.audit.to_dict())
            prepared[describe_variant(changes)] = data
        todo = [r for r in runs if not store.is_done(r.run_id, prepared[r.variant].hash)]
        if not todo:
            console.print(f"all {len(runs)} run(s) of {spec.name} are already done; rebuilding the report")
        overall = progress.add_task("runs", total=len(runs), completed=len(runs) - len(todo), info="")
        if executor == "ray" and todo:
            from benchmark.ray_executor import execute_on_ray

            def on_done(summary: dict[str, Any]) -> None:
                progress.advance(overall)
                progress.console.print(f"  done: {summary['label']} (accuracy {summary['accuracy']:.3f})")

            execute_on_ray(spec, todo, home, address, on_done, checkpoint_every_s)
            todo = []
        failures: list[EvaluationFailed] = []
        busy: list[RunConfig] = []

        def execute(run: RunConfig, wait: bool) -> bool:
            """Run one; False when another process holds it (and ``wait`` is False)."""
            task: list[Any] = []

            def start() -> None:  # the lock is ours and the run is not done
                if note := resume_note(run, store):
                    progress.console.print(f"  {note}", highlight=False)
                task.append(progress.add_task(f"  {run.label}", total=spec.training.max_epochs, info=""))

            def on_epoch(record: Any, max_epochs: int) -> None:
                progress.update(task[0], completed=record.phase_epoch, total=max_epochs,
                                info=f"phase {record.phase} · val loss {record.val_loss:.3f}")

            try:
                result = execute_locked(run, prepared[run.variant], regs, store, wait=wait, on_start=start,
                                        on_epoch=on_epoch, checkpoint_every_s=checkpoint_every_s)
            except EvaluationFailed as failure:
                failures.append(failure)
                progress.update(task[0], info="evaluation failed (training kept)")
                progress.console.print(f"  [red]{failure.message}[/]", highlight=False)
                return True
            if result is None:
                return False
            if task:
                progress.update(task[0], info=f"accuracy {result['test']['accuracy']:.3f}")
            else:
                progress.console.print(f"  {run.label}: finished by another process", highlight=False)
            progress.advance(overall)
            return True

        for run in todo:
            if not execute(run, wait=False):
                progress.console.print(f"  {run.label}: another process is running it (lock {store.lock_path(run.run_id)});"
                                       " waiting for it after the other runs", highlight=False)
                busy.append(run)
        for run in busy:  # done by the other process by now, or taken over if it stopped
            execute(run, wait=True)
    try:
        report: Path | None = rebuild_report(spec, home, reports_dir)
    except UserError:
        if not failures:
            raise
        report = None
    if failures:
        raise RunsFailed(failures, report)
    assert report is not None
    return report


class RunsFailed(UserError):
    """Some runs trained but could not be evaluated; the report shows the others."""

    exit_code = 1

    def __init__(self, failures: list[Any], report: Path | None) -> None:
        lines = "\n".join(f"  - {f.message}" for f in failures)
        super().__init__(f"{len(failures)} run(s) failed in evaluation; their training is kept and the next run of "
                         f"the spec only evaluates them:\n{lines}",
                         hint=f"The report of the others: {report}" if report else None)


def collect(spec: Spec, store: RunStore) -> tuple[list[dict[str, Any]], list[RunConfig]]:
    """Stored results of this spec's runs (in matrix order) and the runs still missing."""
    results, missing = [], []
    for run in expand(spec):
        result = store.load(run.run_id)
        (results.append(result) if result is not None else missing.append(run))
    return results, missing


def rebuild_report(spec: Spec, home: Path, reports_dir: Path) -> Path:
    from benchmark.report.markdown import ReportInput, write_report
    from benchmark.selection import select

    store = RunStore(home / "runs", spec.name)
    results, missing = collect(spec, store)
    if not results:
        raise UserError(f"no finished run of spec '{spec.name}' in {store.folder}",
                        hint=f"Run it first: cbis-bench run <spec> (store: --home {home}).")
    audit_path = store.folder / AUDIT_FILE
    audit = Audit.from_dict(json.loads(audit_path.read_text())) if audit_path.exists() else None
    runs = expand(spec)
    selection = select(runs, {r["run_id"]: r for r in results}, spec.select) if spec.select is not None else None
    shown = [r for r in results if r["run_id"] in selection.kept()] if selection is not None else results
    report = ReportInput(spec, shown, results, selection, runs, audit, pending=len(missing))
    return write_report(report, reports_dir / spec.name, store=store)
