"""A prepared set of patches: pixel and mask arrays plus a manifest table, one row a patch."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmark.data.audit import Audit
from benchmark.data.classes import CLASSES

MANIFEST_COLUMNS = [
    "patch_id",
    "label",
    "class_name",
    "split",
    "patient_id",
    "image_id",
    "abnormality_id",
    "box_y0",
    "box_x0",
    "box_y1",
    "box_x1",
    "has_mask",
]


@dataclass
class PatchSet:
    """``images``: uint8 (N, S, S); ``masks``: bool (N, S, S) (all False for background);
    ``table``: the manifest, in the same order; ``split`` is the official train/test."""

    images: np.ndarray
    masks: np.ndarray
    table: pd.DataFrame
    audit: Audit
    key: str = ""

    def __len__(self) -> int:
        return len(self.table)

    def content_hash(self) -> str:
        """Hash of the pixels, masks and manifest: the data identity recorded with each run
        (computed once per patch set: the cache's check and the run's identity share it)."""
        if "_content_hash" in self.__dict__:
            return str(self.__dict__["_content_hash"])
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.images).tobytes())
        h.update(np.packbits(np.ascontiguousarray(self.masks)).tobytes())
        h.update(self.table[MANIFEST_COLUMNS].to_csv(index=False).encode())
        self.__dict__["_content_hash"] = h.hexdigest()[:16]
        return str(self.__dict__["_content_hash"])

    def counts(self, split_column: str = "split") -> pd.DataFrame:
        """Patches per class (rows, in the study's order) and split (columns)."""
        table = pd.crosstab(self.table["class_name"], self.table[split_column])
        return table.reindex(index=list(CLASSES), fill_value=0)
