"""Executing a spec: prepare the data once, run each cell of the matrix, store results.

This module wires the stages of ``docs/design.md`` together and nothing more: every
stage lives in its own module, every choice comes from a plugin named in the spec.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmark import provenance
from benchmark.data.classes import CLASSES
from benchmark.data.patchset import PatchSet
from benchmark.data.preparation import prepare
from benchmark.data.splits import validation_split
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
    return PreparedData(patches, split, method, hit, time.perf_counter() - start)


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
    evaluation = evaluate_run(trained, spec, table, data.patches.masks, regs)
    for name, arrays in evaluation.gallery.items():  # before the result, which marks the run done
        store.save_arrays(run.run_id, f"gallery-{name}", arrays)
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
