"""The validation split inside the official training set.

Default: stratified by class and grouped by patient (no patient on both sides), using
scikit-learn's ``StratifiedGroupKFold`` with ``k = round(1 / fraction)`` folds and the
first fold as validation, so 0.15 gives 1/7 = 0.143 of the patients. The study's plain
random split (``group_by: none``) is ``train_test_split``, stratified when asked. The
official test split is never touched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold, train_test_split

from benchmark.spec.schema import ValidationSplit


def assign_validation(table: pd.DataFrame, params: ValidationSplit) -> pd.Series:
    """A ``train`` / ``val`` / ``test`` label per patch, in ``table`` order."""
    out = table["split"].astype(str).copy()
    train = np.flatnonzero(out.to_numpy() == "train")
    if len(train) < 2:
        return out
    labels = table["label"].to_numpy()[train]
    if params.group_by == "patient":
        groups = table["patient_id"].astype(str).to_numpy()[train]
        k = max(2, min(round(1 / params.fraction), len(set(groups))))
        splitter = (StratifiedGroupKFold(k, shuffle=True, random_state=params.seed) if params.stratify
                    else GroupKFold(k, shuffle=True, random_state=params.seed))
        _, val = next(splitter.split(train, labels, groups))
    else:
        stratify = labels if params.stratify and np.bincount(labels).min(initial=2) >= 2 else None
        _, val = train_test_split(np.arange(len(train)), test_size=params.fraction, random_state=params.seed, stratify=stratify)
    out.iloc[train[val]] = "val"
    return out
