"""Executing a spec: prepare the data once, run each cell of the matrix, store results.

This module wires the stages of ``docs/design.md`` together and nothing more: every
stage lives in its own module, every choice comes from a plugin named in the spec.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from benchmark import provenance
from benchmark.data.classes import CLASSES
from benchmark.data.patchset import PatchSet
from benchmark.data.preparation import prepare
from benchmark.data.splits import validation_split
from benchmark.errors import UserError
from benchmark.plugin_loading import Registries
from benchmark.runs import RunConfig, spec_hash, stable_hash
from benchmark.spec.schema import PatchParams, Spec
from benchmark.store import RunStore

ProgressFn = Callable[[int, int], None]


@dataclass
class PreparedData:
    """The patches of a spec with their train/val/test assignment."""

    patches: PatchSet
    split: np.ndarray  # "train" | "val" | "test" per patch
    split_method: str
    cache_hit: bool
    seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def hash(self) -> str:
        """Identity of the data a run sees: pixels, masks, manifest and the split."""
        return stable_hash({"patches": self.patches.content_hash(), "split": hashlib.sha256("".join(self.split).encode()).hexdigest()}, 16)

    def indices(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.split == name)

    def counts(self) -> dict[str, dict[str, int]]:
        table = self.patches.table
        return {s: {c: int(((self.split == s) & (table["class_name"].to_numpy() == c)).sum()) for c in CLASSES}
                for s in ("train", "val", "test")}


def make_dataset(spec: Spec, regs: Registries, cache_dir: Path) -> Any:
    entry = regs.get("dataset", spec.dataset.plugin)
    options = entry.obj.Options.model_validate(spec.dataset.options)
    return entry.obj(options, cache_dir=cache_dir)


def prepare_data(spec: Spec, regs: Registries, cache_dir: Path, progress: ProgressFn | None = None,
                 workers: int | None = None, params: PatchParams | None = None) -> PreparedData:
    """The patches cut with ``params`` (default: the spec's ``dataset.patches``) and
    their train/val/test assignment."""
    start = time.perf_counter()
    dataset = make_dataset(spec, regs, cache_dir)
    catalogue = dataset.catalogue()
    patches, hit = prepare(dataset, catalogue, params or spec.dataset.patches, cache_dir, workers=workers,
                           progress=progress)
    split, method = validation_split(patches, spec.dataset.validation, cache_dir)
    return PreparedData(patches, split, method, hit, time.perf_counter() - start,
                        warnings=data_warnings(patches, split, spec.dataset.validation.fraction))


def data_warnings(patches: PatchSet, split: np.ndarray, fraction: float) -> list[str]:
    """What the data could not give as the spec asked, said at run time (and in the report)."""
    out = []
    training = np.isin(split, ("train", "val"))
    used = float((split == "val").sum() / max(1, training.sum()))
    if training.sum() and abs(used - fraction) > max(0.05, 0.5 * fraction):
        out.append(f"dataset.validation.fraction: {fraction:g} asked, but {used:.2f} of the training patches went to "
                   "validation: too few patients (or patches of a class) for that split on this data")
    audit = patches.audit
    for key, count in sorted(audit.counts.items()):
        if audit.effects.get(key) == "dropped" and key.startswith("background"):
            out.append(f"{key}: {count} (see the audit)")
    return out


class EvaluationFailed(UserError):
    """A run trained but could not be evaluated (a plugin's output failed its checks, say).
    Its trained weights stay in the store: running the spec again only evaluates."""

    exit_code = 1

    def __init__(self, run: RunConfig, message: str, checkpoint: Path) -> None:
        super().__init__(f"run {run.run_id} ({run.label}): evaluation failed: {message}",
                         hint=f"Its training is kept ({checkpoint}): fix the cause and run the spec again; only the "
                              "evaluation is redone.")
        self.run = run


def resume_note(run: RunConfig, store: RunStore) -> str | None:
    """What a run will pick up from its checkpoint, for the user (None: from scratch)."""
    from benchmark.training import checkpoint

    state = checkpoint.load(store.checkpoint_path(run.run_id))
    if state is None:
        return None
    epochs = len(state["result"]["history"])
    if "optimizer" not in state:  # the checkpoint written once training was over
        return f"run {run.run_id} ({run.label}): trained earlier ({epochs} epochs); evaluating only"
    return f"resuming run {run.run_id} ({run.label}) from epoch {epochs}"


def execute_locked(run: RunConfig, data: PreparedData, regs: Registries, store: RunStore, *, wait: bool,
                   on_start: Callable[[], None] | None = None, **kwargs: Any) -> dict[str, Any] | None:
    """:func:`execute_run` while holding the run's lock. A run another process holds is
    waited for (``wait``) or left alone (None returned); a run found finished once the
    lock is held is not computed again (its stored result is returned). ``on_start`` is
    called when this process is about to compute the run."""
    held = store.try_lock(run.run_id)
    if held is None and not wait:
        return None
    with (store.wait_lock(run.run_id) if held is None else _holding(held)):
        if store.is_done(run.run_id, data.hash):
            return store.load(run.run_id)
        if on_start is not None:
            on_start()
        return execute_run(run, data, regs, store, **kwargs)


@contextlib.contextmanager
def _holding(held: Any) -> Iterator[None]:
    try:
        yield
    finally:
        held.release()


def weights_hash(model: Any) -> str:
    """Hash of every parameter and buffer, in order: equal hashes mean bit-identical weights."""
    import torch

    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def execute_run(run: RunConfig, data: PreparedData, regs: Registries, store: RunStore, *,
                on_epoch: Callable[..., None] | None = None, checkpoint_every_s: float = 30.0) -> dict[str, Any]:
    """Train, evaluate and explain one run; save and return its result."""
    from benchmark.evaluation.evaluate import evaluate_run
    from benchmark.models.grouping import count_parameters, weight_layers
    from benchmark.training.session import train_run

    from benchmark import memory
    from benchmark.training.session import resolve_device

    spec = run.spec
    started = dt.datetime.now(dt.timezone.utc)
    host_reset = memory.reset_peaks(resolve_device(spec.training.device))
    t0 = time.perf_counter()
    table = data.patches.table
    trained = train_run(run, data.patches.images, table["label"].to_numpy(), data.split, regs,
                        store.checkpoint_path(run.run_id), on_epoch=on_epoch, checkpoint_every_s=checkpoint_every_s)
    t_train = time.perf_counter() - t0
    try:
        evaluation = evaluate_run(trained, spec, table, data.patches.masks, regs)
        for name, arrays in evaluation.gallery.items():  # before the result, which marks the run done
            store.save_arrays(run.run_id, f"gallery-{name}", arrays)
    except (UserError, KeyboardInterrupt):
        raise
    except Exception as exc:  # the training is kept: the next invocation only evaluates
        message = f"{type(exc).__name__}: {exc}"
        store.save_error(run.run_id, "evaluation", message)
        raise EvaluationFailed(run, message, store.checkpoint_path(run.run_id)) from exc
    t_total = time.perf_counter() - t0

    backbone, groups = trained.backbone, trained.backbone.groups
    proba = np.asarray(evaluation.result["predictions"]["proba"])
    result = {
        "run_id": run.run_id,
        "label": run.label,
        "spec": spec.name,
        "spec_hash": spec_hash(spec),
        "config": run.resolved(),
        "axes": {"normaliser": spec.matrix.normaliser is not None, "patches": spec.matrix.patches is not None},
        "data": {"hash": data.hash, "counts": data.counts(), "patches": run.patches.model_dump(), "variant": run.variant,
                 "warnings": data.warnings,
                 "validation": spec.dataset.validation.model_dump() | {"method": data.split_method}},
        "model": {
            "backbone": run.backbone, "pretrained": backbone.pretrained, "frozen_groups": trained.frozen,
            "weights_hash": weights_hash(backbone.model),
            "target_layer": backbone.info.get("target_layer"),
            "groups": [{"name": g.name, "parameters": count_parameters(g.modules), "weight_layers": weight_layers(g)}
                       for g in groups],
        },
        "phases": [{"name": p.name, "learning_rates": {groups[i].name: lr for i, lr in sorted(p.learning_rates.items())}}
                   for p in trained.phases],
        "normaliser": {"name": run.normaliser, "uses_labels": bool(trained.normaliser.uses_labels),
                       "state": trained.normaliser.state_dict()},
        "training": trained.fit.to_dict(),
        **evaluation.result,
        "fingerprint": hashlib.sha256(proba.tobytes()).hexdigest()[:16],
        "provenance": {"git_revision": provenance.git_revision(), "versions": provenance.versions(),
                       "device": provenance.device_description(trained.device), "seed": run.seed, **trained.determinism},
        # measured, not determined: excluded when two results are compared for identity
        "measurements": {"started": started.isoformat(timespec="seconds"),
                         "seconds": {"train": round(t_train, 3), "total": round(t_total, 3)},
                         "memory": memory.peaks(trained.device, host_reset)},
    }
    store.save(run.run_id, result)
    return result
