"""Run a whole spec, then write its report; what happens is announced as events.

The patches are prepared once per patch variant (a cache hit when already prepared);
the runs not yet done go to the executor (``local`` or ``ray``); finished runs are
skipped, an interrupted one resumes from its kept weights. ``--rerun`` forgets the
spec's results and trained weights first.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.data.audit import Audit
from benchmark.errors import UserError
from benchmark.events import SILENT, Advanced, Events, Note, Prepared, RunsPlanned, Started, Warned
from benchmark.files import atomic_write_json
from benchmark.registry.loading import Registries, registries
from benchmark.run.config import RunConfig, describe_variant, expand
from benchmark.run.result import ResultError, RunResult
from benchmark.run.store import RunStore
from benchmark.spec.schema import Spec

if TYPE_CHECKING:
    from benchmark.run.data import PreparedData

AUDIT_FILE = "audit.json"  # written by earlier versions: one per spec name, read when no keyed one exists


def audit_file(store: RunStore, data_hash: str) -> Path:
    """Where the preparation audit of one patch set is kept: keyed by the patch set (its
    data hash), so two specs of one name on one home (an edited copy with another dataset
    seed) never show each other's audit."""
    return store.folder / f"audit-{data_hash}.json"


class RunsFailed(UserError):
    """Some runs trained but could not be evaluated; the report shows the others."""

    exit_code = 1

    def __init__(self, failures: Sequence[Any], report: Path | None) -> None:
        lines = "\n".join(f"  - {f.message}" for f in failures)
        if all(getattr(f, "stage", "evaluation") == "evaluation" for f in failures):
            head = (
                f"{len(failures)} run(s) failed in evaluation; their training is kept and the next run of "
                "the spec only evaluates them"
            )
        else:
            head = (
                f"{len(failures)} run(s) failed (training or evaluation); the other runs are finished and kept, and "
                "the next run of the spec retries the failed ones"
            )
        super().__init__(f"{head}:\n{lines}", hint=f"The report of the others: {report}" if report else None)


def forget(spec: Spec, store: RunStore, data_hashes: Sequence[str]) -> None:
    """Remove the spec's results and the trained weights of its runs (``--rerun``)."""
    for run in expand(spec):
        store.forget(run.run_id)
        for data_hash in data_hashes:
            store.trained_path(run.training_key, data_hash).unlink(missing_ok=True)


def run_spec(
    spec: Spec,
    home: Path,
    reports_dir: Path,
    events: Events = SILENT,
    checkpoint_every_s: float = 30.0,
    executor: str = "local",
    address: str | None = None,
    rerun: bool = False,
) -> Path:
    """Run the spec's unfinished runs with the chosen executor, then write the report.
    What happens is announced to ``events`` (the CLI's display subscribes); nothing here
    prints."""
    from benchmark.run.executor import executor as make_executor
    from benchmark.run.executor_types import RunContext
    from benchmark.run.loggers import build_loggers, send

    regs = registries(spec.plugins)
    loggers = build_loggers(spec, regs, home)  # before any work: a missing extra stops the run now
    store = RunStore(home / "runs", spec.name)
    runs = expand(spec, regs)
    prepared = _prepare(spec, regs, home, store, events)
    if rerun:
        forget(spec, store, [d.hash for d in prepared.values()])
        events.emit(
            Note("runs", spec.name, f"--rerun: the results and trained weights of {spec.name}'s runs were removed")
        )
    todo = [r for r in runs if not store.is_done(r.run_id, prepared[r.variant].hash)]
    for run in todo:
        why = store.damaged(run.run_id)
        if why is not None:  # this run alone is evaluated again (its training is kept); the others are untouched
            events.emit(Warned("runs", run.run_id, f"run {run.run_id} ({run.label}): {why}: evaluated again"))
    if not todo:
        events.emit(
            Note("runs", spec.name, f"all {len(runs)} run(s) of {spec.name} are already done; rebuilding the report")
        )
    events.emit(RunsPlanned("runs", spec.name, total=len(runs), done=len(runs) - len(todo)))
    context = RunContext(spec, regs, store, prepared, home, checkpoint_every_s, events=events)
    failures = make_executor(executor, address).execute(todo, context) if todo else []
    if spec.whole_image is not None and not failures:  # the second stage: whole mammograms from the patch runs
        from benchmark.whole.stage import run_whole_stage, whole_folder

        if rerun:
            shutil.rmtree(whole_folder(store), ignore_errors=True)
        run_whole_stage(spec, regs, store, prepared, home, lambda text: events.emit(Note("whole", spec.name, text)))
    try:
        report: Path | None = rebuild_report(spec, home, reports_dir)
    except UserError:
        if not failures:
            raise
        report = None
    if loggers:
        results, _ = collect(spec, store)
        sent = send(loggers, results, store, report.parent / "figures" if report is not None else None)
        if any(sent.values()):
            message = "runs sent to the loggers: " + ", ".join(f"{label} {n}" for label, n in sent.items())
        else:
            message = f"loggers ({', '.join(sent)}): every run was recorded before"
        events.emit(Note("loggers", spec.name, message))
    if failures:
        raise RunsFailed(failures, report)
    assert report is not None
    return report


def _prepare(spec: Spec, regs: Registries, home: Path, store: RunStore, events: Events) -> dict[str, PreparedData]:
    """One patch set per patch-cutting variant (a cache hit when shared), by variant."""
    from benchmark.run.data import prepare_data

    variants = spec.patch_variants()
    prepared: dict[str, PreparedData] = {}
    for changes, params in variants:
        name = "preparing patches" + (f" ({describe_variant(changes)})" if len(variants) > 1 else "")
        events.emit(Started("prepare", name))

        def advance(done: int, total: int, name: str = name) -> None:
            events.emit(Advanced("prepare", name, done=done, total=total))

        data = prepare_data(spec, regs, home / "cache", params=params, progress=advance)
        events.emit(
            Prepared("prepare", name, patches=len(data.patches), cache_hit=data.cache_hit, seconds=data.seconds)
        )
        for warning in [*data.notes, *data.warnings]:
            events.emit(Warned("prepare", name, warning))
        atomic_write_json(audit_file(store, data.hash), data.patches.audit.to_dict())
        atomic_write_json(store.uses_path(data.hash), {"cache": data.uses})
        prepared[describe_variant(changes)] = data
    return prepared


def collect(spec: Spec, store: RunStore) -> tuple[list[RunResult], list[RunConfig]]:
    """Stored results of this spec's runs (in matrix order) and the runs still missing (a
    damaged result counts as missing: the report shows the others and says so)."""
    results, missing, _ = _collect(spec, store)
    return results, missing


def _collect(spec: Spec, store: RunStore) -> tuple[list[RunResult], list[RunConfig], list[str]]:
    """:func:`collect`, and a line for each run whose stored result cannot be read (each
    result file read once)."""
    results, missing, damaged = [], [], []
    for run in expand(spec):
        try:
            result = store.load(run.run_id)
        except ResultError as exc:
            result = None
            damaged.append(f"run {run.run_id} ({run.label}): {exc.message}")
        (results.append(result) if result is not None else missing.append(run))
    return results, missing, damaged


def _report_input(spec: Spec, home: Path) -> Any:
    """A spec's report: its finished runs, the ones its selection keeps, its audit."""
    from benchmark.report.markdown import ReportInput
    from benchmark.selection import select

    store = RunStore(home / "runs", spec.name)
    results, missing, damaged = _collect(spec, store)
    if not results:
        raise UserError(
            f"no finished run of spec '{spec.name}' in {store.folder}" + "".join(f"; {d}" for d in damaged),
            hint=f"Run it first: cbis-bench run <spec> (store: --home {home})"
            + (": a run whose result is damaged is evaluated again from its kept training." if damaged else "."),
        )
    keyed = audit_file(store, results[0].data.hash)  # the report's audit: the first run's patch set
    audit_path = keyed if keyed.exists() else store.folder / AUDIT_FILE
    audit = Audit.from_dict(json.loads(audit_path.read_text())) if audit_path.exists() else None
    runs = expand(spec)
    selection = select(runs, {r.run_id: r for r in results}, spec.select) if spec.select is not None else None
    shown = [r for r in results if r.run_id in selection.kept()] if selection is not None else results
    return ReportInput(spec, shown, results, selection, runs, audit, pending=len(missing), damaged=damaged)


def rebuild_report(spec: Spec, home: Path, reports_dir: Path) -> Path:
    from benchmark.report.markdown import write_report

    return write_report(_report_input(spec, home), reports_dir / spec.name, store=RunStore(home / "runs", spec.name))


def combined_report(specs: Sequence[Spec], home: Path, out_dir: Path) -> Path:
    """One report over several specs (the paper spec beside its ablations, say): every
    spec's shown runs in the same tables, paired comparisons only between runs on the
    same test patches, and a first section that says which those are."""
    from benchmark.report.markdown import ReportInput, write_report

    names = [s.name for s in specs]
    if len(set(names)) < len(names):
        raise UserError(f"report: a spec named twice ({', '.join(names)})")
    parts = [_report_input(spec, home) for spec in specs]
    first = parts[0]
    report = ReportInput(
        first.spec,
        [r for p in parts for r in p.shown],
        [r for p in parts for r in p.results],
        audit=first.audit,
        pending=sum(p.pending for p in parts),
        others=[p.spec for p in parts[1:]],
    )
    return write_report(report, out_dir, stores={s.name: RunStore(home / "runs", s.name) for s in specs})
