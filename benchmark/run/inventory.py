"""What a home holds: every run with its state, key metrics, age and size
(``cbis-bench runs``), and what pruning would remove (``cbis-bench runs --prune``).

A run's state, from what the store shows:

* ``done``: its result is stored (and readable);
* ``failed``: its evaluation failed (``error.json`` says why; its training is kept);
* ``running elsewhere``: another process holds its lock;
* ``interrupted at epoch N``: a training checkpoint of its training key is kept;
* ``trained``: its trained weights are kept but it was never evaluated (another run
  with the same training was, or evaluation has not started);
* ``not started``.

Pruning keeps what the named specs use: their runs' folders, their training keys'
weights, the patch cache entries their results read; and anything else of the cache
(catalogues, generated trees, patch entries) used in the last ``older_than_days`` days
(a cache hit marks an entry used). Everything else is listed, and removed only when
asked.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import UserError
from benchmark.files import LOCK_SUFFIX, lock_path, try_lock
from benchmark.run.config import RunConfig, expand
from benchmark.run.result import ResultError, RunResult
from benchmark.run.store import TRAINED, RunStore
from benchmark.spec.schema import Spec
from benchmark.whole import WHOLE


def size_of(path: Path) -> int:
    """Bytes under ``path`` (a file or a folder)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _age_days(path: Path) -> float:
    try:
        return (time.time() - path.stat().st_mtime) / 86400
    except OSError:
        return 0.0


@dataclass(frozen=True)
class RunState:
    spec: str
    run_id: str
    label: str
    state: str
    accuracy: float | None = None
    auc: float | None = None
    ll: float | None = None
    age_days: float | None = None
    size_bytes: int = 0
    message: str = ""


def _held_elsewhere(path: Path) -> bool:
    if not lock_path(path).exists():  # a held lock has its file; a listing must not create one (or its folders)
        return False
    held = try_lock(path)
    if held is None:
        return True
    held.release()
    return False


def _trained_files(store: RunStore, training_key: str) -> list[Path]:
    return sorted((store.root / TRAINED).glob(f"{training_key}-*.pt"))


def _from_result(spec: str, run_id: str, result: RunResult, folder: Path, extra: int = 0) -> RunState:
    first = next(iter(result.localisation.explainers), None)
    ll = result.localisation.explainers[first].ll if first else None
    return RunState(
        spec,
        run_id,
        result.label,
        "done",
        result.test.accuracy,
        result.test.auc_average,
        ll,
        _age_days(folder / "result.json"),
        size_of(folder) + extra,
    )


def run_state(run: RunConfig, store: RunStore) -> RunState:
    """The state of one run of a spec."""
    from benchmark.training import checkpoint

    folder = store.run_folder(run.run_id)
    trained = _trained_files(store, run.training_key)
    extra = sum(p.stat().st_size for p in trained)
    try:
        result = store.load(run.run_id)
    except ResultError as exc:
        return RunState(run.spec.name, run.run_id, run.label, "unreadable", message=exc.message)
    if result is not None:
        return _from_result(run.spec.name, run.run_id, result, folder, extra)
    if _held_elsewhere(folder) or any(_held_elsewhere(p) for p in trained):
        return RunState(run.spec.name, run.run_id, run.label, "running elsewhere", size_bytes=extra)
    error = store.load_error(run.run_id)
    if error is not None:
        return RunState(
            run.spec.name,
            run.run_id,
            run.label,
            "failed",
            age_days=_age_days(folder),
            size_bytes=size_of(folder) + extra,
            message=f"{error.get('stage')}: {error.get('message')}",
        )
    for path in trained:
        state = checkpoint.load(path)
        if state is not None:
            epochs = len(state["result"]["history"])
            what = "trained" if state.get("finished") else f"interrupted at epoch {epochs}"
            return RunState(run.spec.name, run.run_id, run.label, what, age_days=_age_days(path), size_bytes=extra)
    return RunState(run.spec.name, run.run_id, run.label, "not started")


def spec_states(spec: Spec, home: Path) -> list[RunState]:
    store = RunStore(home / "runs", spec.name)
    return [run_state(run, store) for run in expand(spec)]


def _training_only(store_root: Path, claimed: set[str]) -> list[RunState]:
    """Trained-weights files no stored result claims: training interrupted (or finished but
    never evaluated). Training is shared between specs, so the spec is not known here."""
    from benchmark.training import checkpoint

    out = []
    for path in sorted((store_root / TRAINED).glob("*.pt")):
        if path.stem in claimed:
            continue
        if _held_elsewhere(path):
            out.append(RunState("?", path.stem, "training (name the spec to see its run)", "running elsewhere"))
            continue
        state = checkpoint.load(path)
        if state is None:
            continue
        epochs = len(state["result"]["history"])
        what = "trained" if state.get("finished") else f"interrupted at epoch {epochs}"
        out.append(
            RunState(
                "?",
                path.stem,
                "training (name the spec to see its run)",
                what,
                age_days=_age_days(path),
                size_bytes=path.stat().st_size,
            )
        )
    return out


def stored_states(home: Path) -> list[RunState]:
    """Every run folder of the home, whatever spec made it (no spec needed), and the
    trained-weights files no result claims (interrupted training)."""
    out = []
    claimed: set[str] = set()
    runs = home / "runs"
    for spec_folder in sorted(p for p in runs.glob("*") if p.is_dir() and p.name != TRAINED):
        store = RunStore(runs, spec_folder.name)
        for folder in sorted(p for p in spec_folder.iterdir() if p.is_dir()):
            try:
                result = store.load(folder.name)
            except ResultError as exc:
                out.append(RunState(spec_folder.name, folder.name, "", "unreadable", message=exc.message))
                continue
            if result is not None:
                trained = _trained_files(store, result.model.training_key)
                claimed.update(p.stem for p in trained)
                extra = sum(p.stat().st_size for p in trained)
                out.append(_from_result(spec_folder.name, folder.name, result, folder, extra))
            elif _held_elsewhere(folder):
                out.append(RunState(spec_folder.name, folder.name, "", "running elsewhere"))
            elif (error := store.load_error(folder.name)) is not None:
                out.append(
                    RunState(
                        spec_folder.name,
                        folder.name,
                        "",
                        "failed",
                        age_days=_age_days(folder),
                        size_bytes=size_of(folder),
                        message=f"{error.get('stage')}: {error.get('message')}",
                    )
                )
    return out + _training_only(runs, claimed)


# --------------------------------------------------------------------------- pruning
@dataclass(frozen=True)
class Removal:
    path: Path
    what: str
    size_bytes: int


def prune_plan(home: Path, specs: Sequence[Spec], older_than_days: float = 30.0) -> list[Removal]:
    """What no named spec uses (and, in the cache, what was not used recently)."""
    if not specs:
        raise UserError(
            "runs --prune needs the specs whose runs to keep (cbis-bench runs --prune SPEC [SPEC ...])",
            hint="Everything no named spec uses is listed; nothing is removed without --yes.",
        )
    runs_root = home / "runs"
    keep_runs: dict[str, set[str]] = {}
    keep_training: set[str] = set()
    for spec in specs:
        configs = expand(spec)
        keep_runs.setdefault(spec.name, set()).update(r.run_id for r in configs)
        keep_training.update(r.training_key for r in configs)
    out: list[Removal] = []
    keep_cache: set[str] = set()
    in_use: set[Path] = set()  # what the named specs' data were prepared from
    for spec_folder in sorted(p for p in runs_root.glob("*") if p.is_dir() and p.name != TRAINED):
        kept = keep_runs.get(spec_folder.name, set())
        store = RunStore(runs_root, spec_folder.name)
        for folder in sorted(p for p in spec_folder.iterdir() if p.is_dir()):
            if folder.name == WHOLE and spec_folder.name in keep_runs:  # the whole-image stage of a named spec
                continue
            if folder.name in kept:
                try:
                    result = store.load(folder.name)
                except ResultError:
                    result = None
                if result is not None and result.measurements.cache_key:
                    keep_cache.add(result.measurements.cache_key)
                if result is not None:
                    in_use |= store.uses(result.data.hash)
                continue
            reason = "run of a spec not named" if spec_folder.name not in keep_runs else "run no named spec has"
            out.append(Removal(folder, f"{reason} ({spec_folder.name})", size_of(folder)))
    for path in sorted((runs_root / TRAINED).glob("*.pt")):
        if path.name.split("-")[0] not in keep_training:
            out.append(Removal(path, "trained weights no named spec's runs use", size_of(path)))
    cache = home / "cache"
    for entry in sorted((cache / "patches").glob("*")):
        if (
            entry.is_dir()
            and entry.name not in keep_cache
            and entry.resolve() not in in_use
            and _age_days(entry) > older_than_days
        ):
            out.append(Removal(entry, f"patch cache entry unused for over {older_than_days:g} days", size_of(entry)))
    for kind, pattern in (("catalogue", "catalogues/*.json"), ("generated tree", "fixtures/*")):
        for entry in sorted(cache.glob(pattern)):
            if entry.name.endswith(LOCK_SUFFIX) or ".partial" in entry.name or entry.resolve() in in_use:
                continue
            if _age_days(entry) > older_than_days:
                out.append(Removal(entry, f"{kind} unused for over {older_than_days:g} days", size_of(entry)))
    return out


def remove(plan: Iterable[Removal]) -> list[Removal]:
    """Remove what the plan lists, skipping anything another process holds; returns
    what was removed."""
    done = []
    for item in plan:
        held = try_lock(item.path)
        if held is None:
            continue  # in use right now
        try:
            if item.path.is_dir():
                shutil.rmtree(item.path)
            elif item.path.exists():
                item.path.unlink()
            lock_file = item.path.with_name(item.path.name + LOCK_SUFFIX)
            done.append(item)
        finally:
            held.release()
        lock_file.unlink(missing_ok=True)
    return done
