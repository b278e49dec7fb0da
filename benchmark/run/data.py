"""The data a spec's runs see: the patches (from the cache or prepared), their
train/val/test assignment, the data's identity, and what the data could not give as the
spec asked (warned at run time and in the report)."""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.classes import CLASSES
from benchmark.data.patchset import PatchSet
from benchmark.data.preparation import prepare
from benchmark.data.splits import validation_split
from benchmark.files import recording_uses
from benchmark.hashing import stable_hash
from benchmark.registry.loading import Registries
from benchmark.spec.schema import PatchParams, Spec

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
    notes: list[str] = field(default_factory=list)  # said at run time only (a damaged cache entry prepared again)
    uses: list[str] = field(default_factory=list)  # the cache entries the data came from (pruning keeps them)

    @functools.cached_property
    def hash(self) -> str:
        """Identity of the data a run sees: pixels, masks, manifest and the split."""
        return stable_hash(
            {"patches": self.patches.content_hash(), "split": hashlib.sha256("".join(self.split).encode()).hexdigest()},
            16,
        )

    def indices(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.split == name)

    def counts(self) -> dict[str, dict[str, int]]:
        table = self.patches.table
        return {
            s: {c: int(((self.split == s) & (table["class_name"].to_numpy() == c)).sum()) for c in CLASSES}
            for s in ("train", "val", "test")
        }


def make_dataset(spec: Spec, regs: Registries, cache_dir: Path) -> Any:
    from benchmark.registry.calls import make_dataset as build

    return build(regs, spec.dataset.plugin, spec.dataset.options, cache_dir)


def prepare_data(
    spec: Spec,
    regs: Registries,
    cache_dir: Path,
    progress: ProgressFn | None = None,
    workers: int | None = None,
    params: PatchParams | None = None,
) -> PreparedData:
    """The patches cut with ``params`` (default: the spec's ``dataset.patches``) and
    their train/val/test assignment."""
    start = time.perf_counter()
    notes: list[str] = []
    with recording_uses() as used:
        dataset = make_dataset(spec, regs, cache_dir)
        catalogue = dataset.catalogue()
        patches, hit = prepare(
            dataset,
            catalogue,
            params or spec.dataset.patches,
            cache_dir,
            workers=workers,
            progress=progress,
            notes=notes,
        )
    split, method = validation_split(patches, spec.dataset.validation, cache_dir)
    return PreparedData(
        patches,
        split,
        method,
        hit,
        time.perf_counter() - start,
        warnings=data_warnings(patches, split, spec.dataset.validation.fraction),
        notes=notes,
        uses=sorted(str(p) for p in used),
    )


def data_warnings(patches: PatchSet, split: np.ndarray, fraction: float) -> list[str]:
    """What the data could not give as the spec asked, said at run time (and in the report)."""
    out = []
    training = np.isin(split, ("train", "val"))
    used = float((split == "val").sum() / max(1, training.sum()))
    if training.sum() and abs(used - fraction) > max(0.05, 0.5 * fraction):
        out.append(
            f"dataset.validation.fraction: {fraction:g} asked, but {used:.2f} of the training patches went to "
            "validation: too few patients (or patches of a class) for that split on this data"
        )
    labels = patches.table["label"].to_numpy()
    for name, why in (("train", "the classifier cannot learn it"), ("test", "its recall and AUC are undefined")):
        missing = [c for k, c in enumerate(CLASSES) if not np.any((split == name) & (labels == k))]
        if len(labels) and missing:
            out.append(f"no {name} patch of class {', '.join(missing)}: {why} (see the audit for what was dropped)")
    audit = patches.audit
    for key, count in sorted(audit.counts.items()):
        if audit.effects.get(key) == "dropped" and key.startswith("background"):
            out.append(f"{key}: {count} (see the audit)")
    return out
