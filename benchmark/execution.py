"""Executing a spec: prepare the data once, run each cell of the matrix, store results.

This module wires the stages of ``docs/design.md`` together and nothing more: every
stage lives in its own module, every choice comes from a plugin named in the spec.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmark import provenance
from benchmark.data.classes import CLASSES
from benchmark.data.patchset import PatchSet
from benchmark.data.preparation import prepare
from benchmark.data.splits import assign_validation
from benchmark.plugin_loading import Registries
from benchmark.runs import RunConfig, spec_hash, stable_hash
from benchmark.spec.schema import Spec
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
                 workers: int | None = None) -> PreparedData:
    start = time.perf_counter()
    dataset = make_dataset(spec, regs, cache_dir)
    catalogue = dataset.catalogue()
    patches, hit = prepare(dataset, catalogue, spec.dataset.patches, cache_dir, workers=workers, progress=progress)
    split, method = assign_validation(patches.table, spec.dataset.validation)
    return PreparedData(patches, split.to_numpy().astype(str), method, hit, time.perf_counter() - start)


def resolve_device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _peak_memory(device: Any) -> dict[str, float]:
    import torch

    out = {"host_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        out["device_peak_allocated_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


def execute_run(run: RunConfig, data: PreparedData, regs: Registries, store: RunStore, *,
                on_epoch: Callable[..., None] | None = None, checkpoint_every_s: float = 30.0) -> dict[str, Any]:
    """Train, evaluate and explain one run; save and return its result."""
    import torch

    from benchmark.evaluation.localisation import localisation_score
    from benchmark.evaluation.metrics import classification_metrics
    from benchmark.evaluation.predict import predict_proba
    from benchmark.models.grouping import count_parameters, weight_layers
    from benchmark.training.determinism import configure, seed_everything
    from benchmark.training.device_data import DeviceSplit, fit_chunks
    from benchmark.training.freezing import frozen_groups
    from benchmark.training.loop import Trainer

    spec, cfg = run.spec, run.spec.training
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    determinism = configure(cfg.deterministic)
    generator = seed_everything(run.seed)

    backbone = regs.get("backbone", run.backbone).obj(
        num_classes=len(CLASSES), pretrained=cfg.pretrained, weights=cfg.weights.get(run.backbone))
    backbone.model.to(device)
    frozen = frozen_groups(backbone)
    phases = regs.get("strategy", run.strategy).obj(backbone.groups, frozen, run.hparams)

    patches, table = data.patches, data.patches.table
    labels = table["label"].to_numpy()
    splits = {name: DeviceSplit.from_arrays(patches.images[data.indices(name)], labels[data.indices(name)], device)
              for name in ("train", "val", "test")}
    normaliser_entry = regs.get("normaliser", spec.normaliser)
    normaliser = normaliser_entry.obj()
    normaliser.fit(fit_chunks(splits["train"]))

    trainer = Trainer(backbone.model, backbone.groups, phases, normaliser, splits["train"], splits["val"], run.hparams,
                      cfg, generator, store.checkpoint_path(run.run_id), checkpoint_every_s, on_epoch)
    fit = trainer.fit()
    t_train = time.perf_counter() - t0

    test_idx = data.indices("test")
    proba = predict_proba(backbone.model, splits["test"], normaliser, cfg.eval_batch_size)
    metrics = classification_metrics(labels[test_idx], proba, CLASSES)
    predictions = proba.argmax(1)

    loc_entry = regs.get("localisation", spec.explain.localisation.metric)
    localisation = {}
    masks = np.asarray(patches.masks[test_idx])
    has_mask = table["has_mask"].to_numpy()[test_idx].astype(bool)
    for name in spec.explain.explainers:
        explainer = regs.get("explainer", name).obj(backbone)
        scores = localisation_score(backbone.model, explainer, loc_entry.obj, {"threshold": spec.explain.localisation.threshold},
                                    splits["test"], masks, has_mask, predictions, normaliser, spec.explain.batch_size)
        scores["patch_index"] = [int(test_idx[i]) for i in scores["patch_index"]]
        localisation[name] = scores
    t_total = time.perf_counter() - t0

    fingerprint = hashlib.sha256(np.round(proba, 6).tobytes()).hexdigest()[:16]
    result = {
        "run_id": run.run_id,
        "label": run.label,
        "spec": spec.name,
        "spec_hash": spec_hash(spec),
        "config": run.resolved(),
        "data": {"hash": data.hash, "counts": data.counts(),
                 "validation": spec.dataset.validation.model_dump() | {"method": data.split_method}},
        "model": {
            "backbone": run.backbone, "pretrained": backbone.pretrained, "frozen_groups": frozen,
            "target_layer": backbone.info.get("target_layer"),
            "groups": [{"name": g.name, "parameters": count_parameters(g.modules), "weight_layers": weight_layers(g)}
                       for g in backbone.groups],
        },
        "phases": [{"name": p.name, "learning_rates": {backbone.groups[i].name: lr for i, lr in sorted(p.learning_rates.items())}}
                   for p in phases],
        "normaliser": {"name": spec.normaliser, "uses_labels": bool(normaliser.uses_labels),
                       "state": normaliser.state_dict()},
        "training": fit.to_dict(),
        "test": metrics,
        "localisation": {"metric": spec.explain.localisation.metric, "threshold": spec.explain.localisation.threshold,
                         "explainers": localisation},
        "predictions": {"patch_id": [int(i) for i in test_idx], "label": [int(v) for v in labels[test_idx]],
                        "proba": np.round(proba, 6).tolist()},
        "fingerprint": fingerprint,
        "provenance": {"git_revision": provenance.git_revision(), "versions": provenance.versions(),
                       "device": provenance.device_description(device), "seed": run.seed, **determinism},
        # measured, not determined: excluded when two results are compared for identity
        "measurements": {"started": started.isoformat(timespec="seconds"),
                         "seconds": {"train": round(t_train, 3), "total": round(t_total, 3)},
                         "memory": _peak_memory(device)},
    }
    store.save(run.run_id, result)
    return result
