"""The validation split: grouped by patient, stratified, never touching the test split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.data.splits import assign_validation
from benchmark.spec.schema import ValidationSplit


def _table(n_patients: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        for _ in range(int(rng.integers(1, 4))):
            rows.append(
                {
                    "patient_id": f"P_{p:05d}",
                    "label": int(rng.integers(0, 5)),
                    "split": "test" if p % 5 == 0 else "train",
                }
            )
    return pd.DataFrame(rows)


def test_grouped_split_keeps_patients_on_one_side_and_test_untouched() -> None:
    table = _table()
    split, method = assign_validation(table, ValidationSplit())
    assert "grouped by patient" in method and "stratified" in method
    assert (split[table["split"] == "test"] == "test").all()
    val_patients = set(table.loc[split == "val", "patient_id"])
    train_patients = set(table.loc[split == "train", "patient_id"])
    assert val_patients and not (val_patients & train_patients)
    fraction = (split == "val").sum() / (table["split"] == "train").sum()
    assert 0.08 < fraction < 0.25
    assert set(table.loc[split == "val", "label"]) == set(range(5))  # stratified: every class present


def test_split_is_reproducible_and_seeded() -> None:
    table = _table()
    a, _ = assign_validation(table, ValidationSplit(seed=0))
    b, _ = assign_validation(table, ValidationSplit(seed=0))
    c, _ = assign_validation(table, ValidationSplit(seed=1))
    assert a.equals(b) and not a.equals(c)


def test_random_split_is_available_and_says_so() -> None:
    table = _table()
    split, method = assign_validation(table, ValidationSplit(group_by="none", fraction=0.2))
    assert method.startswith("random")
    assert abs((split == "val").sum() - 0.2 * (table["split"] == "train").sum()) <= 1


def test_tiny_data_degrades_gracefully() -> None:
    table = pd.DataFrame({"patient_id": ["a", "b", "c", "d"], "label": [0, 0, 1, 2], "split": ["train"] * 4})
    split, method = assign_validation(table, ValidationSplit())
    assert (split == "val").sum() >= 1 and "stratified" not in method
