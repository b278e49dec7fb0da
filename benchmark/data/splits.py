"""The validation split inside the official training set.

Default: stratified by class and grouped by patient (no patient on both sides), using
scikit-learn's ``StratifiedGroupKFold`` with ``k = round(1 / fraction)`` folds and the
first fold as validation, so 0.15 gives 1/7 = 0.143 of the patients. The study's plain
random split (``group_by: none``) is ``train_test_split``, stratified when asked. When a
class has fewer members than folds (tiny data), k shrinks to that count, and below two
members stratification is dropped; the method actually used is returned and reported.
The official test split is never touched. ``validation_split`` keeps the result with the
patch set's cache entry: on the real data ``StratifiedGroupKFold`` takes about half a
second, which a cache hit should not pay again.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.data import cache
from benchmark.data.patchset import PatchSet
from benchmark.hashing import stable_hash
from benchmark.spec.schema import ValidationSplit

#: bump when assign_validation changes: splits kept in the cache are then recomputed
SPLIT_VERSION = 1


def assign_validation(table: pd.DataFrame, params: ValidationSplit) -> tuple[pd.Series, str]:
    """A ``train`` / ``val`` / ``test`` label per patch (in ``table`` order) and the method used."""
    from sklearn.model_selection import (  # ~1 s to import
        GroupKFold,
        StratifiedGroupKFold,
        train_test_split,
    )

    out = table["split"].astype(str).copy()
    train = np.flatnonzero(out.to_numpy() == "train")
    if len(train) < 2:
        return out, "none (fewer than 2 training patches)"
    labels = table["label"].to_numpy()[train]
    smallest = int(np.bincount(labels)[np.bincount(labels) > 0].min())
    if params.group_by == "patient":
        groups = table["patient_id"].astype(str).to_numpy()[train]
        k = max(2, min(round(1 / params.fraction), len(set(groups))))
        stratify = params.stratify and smallest >= 2
        if stratify:
            k = min(k, smallest)
        splitter = (
            StratifiedGroupKFold(k, shuffle=True, random_state=params.seed)
            if stratify
            else GroupKFold(k, shuffle=True, random_state=params.seed)
        )
        _, val = next(splitter.split(train, labels, groups))
        method = f"grouped by patient, {'stratified by class, ' if stratify else ''}1 of {k} folds"
    else:
        stratify = params.stratify and smallest >= 2
        _, val = train_test_split(
            np.arange(len(train)),
            test_size=params.fraction,
            random_state=params.seed,
            stratify=labels if stratify else None,
        )
        method = f"random{', stratified by class' if stratify else ''}, fraction {params.fraction:g}"
    out.iloc[train[val]] = "val"
    return out, method


def validation_split(patches: PatchSet, params: ValidationSplit, cache_dir: Path) -> tuple[np.ndarray, str]:
    """:func:`assign_validation` of a patch set, computed once per cache entry."""
    name = "validation-" + stable_hash(
        {"params": params.model_dump(), "version": SPLIT_VERSION, "scikit-learn": version("scikit-learn")}
    )

    def compute() -> dict[str, object]:
        split, method = assign_validation(patches.table, params)
        return {"split": split.tolist(), "method": method}

    found = cache.derived(cache_dir, patches.key, name, compute)
    return np.asarray(found["split"], dtype=str), str(found["method"])
