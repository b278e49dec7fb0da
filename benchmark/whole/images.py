"""Whole mammograms as the image-level stage sees them: one record per physical image.

CBIS-DDSM keeps mass and calcification cases apart, so one mammogram (patient, breast,
view) can be two files, sometimes on both sides of the official split. Here they are
merged: the label is malignant when any abnormality is malignant, else benign
(BENIGN_WITHOUT_CALLBACK counts as benign); every lesion mask is kept; a mammogram on
both sides of the split stays in the test split. Each merge and move is counted in the
audit. Images are resized to the spec's size and cached once, like patches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from benchmark.data.audit import Audit
from benchmark.data.catalogue import Catalogue, ImageRecord
from benchmark.files import atomic_write, lock
from benchmark.hashing import stable_hash
from benchmark.spec.schema import ValidationSplit

#: bump when the records, labels or resizing change: cached images are then rebuilt
WHOLE_VERSION = 1
MALIGNANT, BENIGN = 1, 0
_KEY = re.compile(r"(P_\d+)_(LEFT|RIGHT)_(CC|MLO)", re.IGNORECASE)

MERGED = "mammograms in a mass and a calcification file: merged"
BOTH_SPLITS = "mammograms on both sides of the official split: kept in test"
NO_KEY = "files without patient/breast/view in their name: kept as their own mammogram"
UNREADABLE = "mammograms unreadable: dropped"
NO_MASK = "lesion masks unreadable or of another shape: left out of the localisation mask"


@dataclass(frozen=True)
class Mammogram:
    """One physical image: the files it was found in, its lesions and its label."""

    key: str  # "P_00001_LEFT_CC"
    patient_id: str
    split: str  # "train" | "test" (official, after merging)
    label: int  # 1 malignant, 0 benign
    image_path: str
    mask_paths: tuple[str, ...]
    files: tuple[str, ...]  # image ids of the records merged into it


def mammogram_key(record: ImageRecord) -> str | None:
    """``P_00001_LEFT_CC`` from the record's subject name (None when it has none)."""
    found = _KEY.search(str(record.meta.get("subject", "")) or record.image_path)
    return "_".join((found[1].upper(), found[2].upper(), found[3].upper())) if found else None


def mammograms(records: Sequence[ImageRecord], audit: Audit) -> list[Mammogram]:
    """Merge the records of each (patient, breast, view); see the module docstring."""
    groups: dict[str, list[ImageRecord]] = {}
    for record in sorted(records, key=lambda r: r.image_id):
        key = mammogram_key(record)
        if key is None:
            audit.event(NO_KEY, record.image_path)
            key = record.image_id
        groups.setdefault(key, []).append(record)
    out = []
    for key, found in sorted(groups.items()):
        lesions = [lesion for r in found for lesion in r.lesions]
        splits = {r.split for r in found}
        if len(found) > 1 and len({lesion.lesion_type for lesion in lesions}) > 1:
            audit.event(MERGED, key, ", ".join(r.image_id for r in found), effect="repaired")
        if len(splits) > 1:
            audit.event(BOTH_SPLITS, key, ", ".join(f"{r.image_id} ({r.split})" for r in found), effect="repaired")
        malignant = any(lesion.pathology.upper() == "MALIGNANT" for lesion in lesions)
        out.append(
            Mammogram(
                key,
                found[0].patient_id,
                "test" if "test" in splits else "train",
                MALIGNANT if malignant else BENIGN,
                found[0].image_path,
                tuple(dict.fromkeys(lesion.mask_path for lesion in lesions)),
                tuple(r.image_id for r in found),
            )
        )
    audit.count("mammograms (patient, breast, view)", len(out), effect="read")
    return out


def with_validation(items: Sequence[Mammogram], params: ValidationSplit) -> np.ndarray:
    """train / val / test per mammogram: the patch stage's split rule (grouped by patient,
    stratified by label) applied to whole images."""
    from benchmark.data.splits import assign_validation

    table = pd.DataFrame(
        {
            "split": [m.split for m in items],
            "label": [m.label for m in items],
            "patient_id": [m.patient_id for m in items],
        }
    )
    return assign_validation(table, params)[0].to_numpy().astype(str)


@dataclass
class WholeImages:
    """Resized mammograms (uint8, N x H x W), the union of their lesion masks (bool),
    labels, train/val/test and the audit of how they were made."""

    key: str
    images: np.ndarray
    masks: np.ndarray
    table: pd.DataFrame  # key, patient_id, split (official), label, files
    split: np.ndarray
    audit: Audit = field(default_factory=Audit)

    @property
    def labels(self) -> np.ndarray:
        return self.table["label"].to_numpy().astype(np.int64)

    def indices(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.split == name)

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            s: {
                "benign": int(((self.split == s) & (self.labels == 0)).sum()),
                "malignant": int(((self.split == s) & (self.labels == 1)).sum()),
            }
            for s in ("train", "val", "test")
        }


def _as_uint8(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        image = image[..., 0]
    if image.dtype == np.uint8:
        return image
    top = float(image.max()) or 1.0
    return np.clip(image.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)


def _resized(dataset: Any, m: Mammogram, size: tuple[int, int], audit: Audit) -> tuple[np.ndarray, np.ndarray] | None:
    import cv2

    from benchmark.data.patches import binarise

    try:
        image = _as_uint8(np.asarray(dataset.read_image(Path(m.image_path))))
    except Exception as exc:  # corrupt or unreadable: count, name, go on
        audit.event(UNREADABLE, m.image_path, str(exc), effect="dropped")
        return None
    h, w = size
    union = np.zeros((h, w), dtype=bool)
    for path in m.mask_paths:
        try:
            mask = binarise(np.asarray(dataset.read_mask(Path(path))))
        except Exception as exc:
            audit.event(NO_MASK, path, str(exc), effect="dropped")
            continue
        if mask.ndim != 2 or abs(mask.shape[0] / mask.shape[1] - image.shape[0] / image.shape[1]) > 0.02:
            audit.event(NO_MASK, path, f"mask {mask.shape}, image {image.shape}", effect="dropped")
            continue
        union |= cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    interp = cv2.INTER_AREA if image.shape[0] >= h else cv2.INTER_LINEAR
    audit.count("mammograms resized", effect="read")
    return cv2.resize(image, (w, h), interpolation=interp), union


def whole_key(catalogue: Catalogue, size: Sequence[int], validation: ValidationSplit) -> str:
    return stable_hash(
        {
            "catalogue": catalogue.fingerprint(),
            "size": list(size),
            "version": WHOLE_VERSION,
            "validation": validation.model_dump(),
        },
        16,
    )


def prepare_whole(
    dataset: Any, catalogue: Catalogue, size: Sequence[int], validation: ValidationSplit, cache_dir: Path
) -> tuple[WholeImages, bool]:
    """The resized mammograms of a catalogue, from the cache when made before (True)."""
    key = whole_key(catalogue, size, validation)
    path = Path(cache_dir) / "whole" / f"{key}.npz"
    if path.exists():
        return _load(key, path), True
    with lock(path):  # a second process waits, then finds the entry
        if path.exists():
            return _load(key, path), True
        return _resize_all(dataset, catalogue, key, size, validation, path), False


def _load(key: str, path: Path) -> WholeImages:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        return WholeImages(
            key,
            data["images"],
            data["masks"],
            pd.DataFrame(meta["table"]),
            data["split"],
            Audit.from_dict(meta["audit"]),
        )


def _resize_all(
    dataset: Any, catalogue: Catalogue, key: str, size: Sequence[int], validation: ValidationSplit, path: Path
) -> WholeImages:
    """Every mammogram of the catalogue resized, with its masks and split; stored at ``path``."""
    audit = Audit()
    items = mammograms(catalogue.records, audit)
    kept, images, masks = [], [], []
    for m in items:
        found = _resized(dataset, m, (int(size[0]), int(size[1])), audit)
        if found is not None:
            kept.append(m)
            images.append(found[0])
            masks.append(found[1])
    if not kept:
        from benchmark.errors import UserError

        raise UserError("whole_image: no mammogram could be read (see the audit)")
    table = pd.DataFrame(
        {
            "key": [m.key for m in kept],
            "patient_id": [m.patient_id for m in kept],
            "split": [m.split for m in kept],
            "label": [m.label for m in kept],
            "files": [" ".join(m.files) for m in kept],
        }
    )
    split = with_validation(kept, validation)
    whole = WholeImages(key, np.stack(images), np.stack(masks), table, split, audit)
    meta = json.dumps({"table": table.to_dict(orient="list"), "audit": audit.to_dict()})

    def write(fh: IO[bytes]) -> None:
        np.savez_compressed(fh, images=whole.images, masks=whole.masks, split=split, meta=np.array(meta))

    atomic_write(path, write)
    return whole
