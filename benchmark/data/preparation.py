"""Decode each mammogram and its masks once, cut patches, cache them: in parallel.

The dataset plugin finds files (a :class:`Catalogue`); this module owns pixels. Work is
spread over processes, one mammogram per task; every patch depends on its own image
alone (background positions are seeded by the image id), so the result is identical
whatever the number of workers.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import pandas as pd

from benchmark.data import cache
from benchmark.data.audit import Audit
from benchmark.data.catalogue import Catalogue, ImageRecord
from benchmark.data.classes import CLASSES
from benchmark.data.patches import Box, background_boxes, binarise, crop_resized, expand, lesion_box
from benchmark.data.patchset import MANIFEST_COLUMNS, PatchSet
from benchmark.errors import UserError
from benchmark.runs import stable_hash
from benchmark.spec.schema import PatchParams

#: bump when the patch-cutting rules change: old cache entries then no longer match
PREPARATION_VERSION = 1
ASPECT_TOLERANCE = 0.02

Progress = Callable[[int, int], None]


@dataclass
class _ImagePatches:
    images: list[np.ndarray]
    masks: list[np.ndarray]
    rows: list[dict[str, Any]]
    audit: Audit


def _image_seed(image_id: str) -> int:
    return int(hashlib.sha256(image_id.encode()).hexdigest()[:8], 16)


def _fit_mask(mask: np.ndarray, shape: tuple[int, int], where: str, audit: Audit) -> np.ndarray | None:
    """A mask of the image's size: resized when only the scale differs, else None (dropped)."""
    if mask.shape == shape:
        return mask
    aspect_mask, aspect_image = mask.shape[0] / mask.shape[1], shape[0] / shape[1]
    detail = f"mask {mask.shape[0]}x{mask.shape[1]}, image {shape[0]}x{shape[1]}"
    if abs(aspect_mask / aspect_image - 1.0) <= ASPECT_TOLERANCE:
        audit.event("mask size mismatch: resized", where, detail)
        return cv2.resize(mask.astype(np.uint8) * 255, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 127
    audit.event("mask size mismatch: dropped (aspect ratio differs)", where, detail)
    return None


def _prepare_image(dataset: Any, record: ImageRecord, params: PatchParams) -> _ImagePatches:
    out = _ImagePatches([], [], [], Audit())
    audit = out.audit
    try:
        image = dataset.read_image(Path(record.image_path))
    except Exception as exc:  # corrupt or unreadable: count, name, go on
        audit.event("mammogram unreadable: dropped with its lesions", record.image_path, str(exc))
        return out
    audit.count("mammograms decoded")
    lesion_masks: list[np.ndarray] = []
    for lesion in record.lesions:
        where = lesion.row
        try:
            raw = dataset.read_mask(Path(lesion.mask_path))
        except Exception as exc:
            audit.event("mask unreadable: lesion dropped", f"{where}: {lesion.mask_path}", str(exc))
            continue
        audit.count("masks decoded")
        mask = _fit_mask(binarise(raw), image.shape[:2], f"{where}: {lesion.mask_path}", audit)
        if mask is None:
            continue
        box, components = lesion_box(mask)
        if box is None:
            audit.event("mask empty: lesion dropped", f"{where}: {lesion.mask_path}")
            continue
        lesion_masks.append(mask)
        if components > 1:
            audit.event("mask with several components: largest kept", where, f"{components} components")
        if lesion.class_name is None:
            audit.count(f"lesions not a class ({lesion.pathology})")
            continue
        box = expand(box, params.lesion_margin, image.shape[:2])
        out.images.append(crop_resized(image, box, params.size))
        out.masks.append(crop_resized(mask, box, params.size, is_mask=True))
        out.rows.append(_row(record, lesion.class_name, lesion.abnormality_id, box, True))
    if record.background_source and params.background_per_image:
        rng = np.random.default_rng(_image_seed(record.image_id))
        boxes = background_boxes(image, lesion_masks, params.background_size, params.background_per_image, rng)
        if len(boxes) < params.background_per_image:
            audit.event("background windows short (no room in breast)", record.image_path,
                        f"{len(boxes)} of {params.background_per_image}")
        for k, box in enumerate(boxes):
            out.images.append(crop_resized(image, box, params.size))
            out.masks.append(np.zeros((params.size, params.size), bool))
            out.rows.append(_row(record, "background", f"bg{k + 1}", box, False))
    return out


def _row(record: ImageRecord, class_name: str, abnormality: str, box: Box, has_mask: bool) -> dict[str, Any]:
    return {
        "label": CLASSES.index(class_name), "class_name": class_name, "split": record.split,
        "patient_id": record.patient_id, "image_id": record.image_id, "abnormality_id": abnormality,
        "box_y0": box.y0, "box_x0": box.x0, "box_y1": box.y1, "box_x1": box.x1, "has_mask": has_mask,
    }


def _task(args: tuple[Any, ImageRecord, PatchParams]) -> _ImagePatches:
    return _prepare_image(*args)


def preparation_key(catalogue: Catalogue, params: PatchParams) -> str:
    return stable_hash({"catalogue": catalogue.fingerprint(), "patches": params.model_dump(), "version": PREPARATION_VERSION}, 16)


def prepare(dataset: Any, catalogue: Catalogue, params: PatchParams, cache_dir: Path, *,
            workers: int | None = None, progress: Progress | None = None) -> tuple[PatchSet, bool]:
    """The patch set for this catalogue and parameters, from the cache when it is there.
    Returns ``(patches, cache_hit)``."""
    if not catalogue.records:
        raise UserError(
            f"{catalogue.source}: no mammogram could be resolved from the case CSVs",
            hint="Is this the root of a CBIS-DDSM tree (a folder holding csv/ and jpeg/, or the TCIA download)?",
        )
    key = preparation_key(catalogue, params)
    cached = cache.load(cache_dir, key)
    if cached is not None:
        return cached, True
    records = sorted(catalogue.records, key=lambda r: r.image_id)
    workers = workers or os.cpu_count() or 1
    results: list[_ImagePatches] = []
    jobs = [(dataset, rec, params) for rec in records]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(min(workers, len(jobs))) as pool:
            for done, result in enumerate(pool.map(_task, jobs, chunksize=max(1, len(jobs) // (workers * 8))), 1):
                results.append(result)
                if progress:
                    progress(done, len(jobs))
    else:
        for done, job in enumerate(jobs, 1):
            results.append(_task(job))
            if progress:
                progress(done, len(jobs))
    audit = Audit()
    audit.merge(catalogue.audit)
    for result in results:
        audit.merge(result.audit)
    rows = [row for r in results for row in r.rows]
    size = params.size
    images = np.stack([im for r in results for im in r.images]) if rows else np.zeros((0, size, size), np.uint8)
    masks = np.stack([m for r in results for m in r.masks]) if rows else np.zeros((0, size, size), bool)
    table = pd.DataFrame(rows, columns=[c for c in MANIFEST_COLUMNS if c != "patch_id"])
    table.insert(0, "patch_id", range(len(table)))
    for split in ("train", "test"):
        for name in CLASSES:
            audit.notes.setdefault("patches", {})[f"{split}/{name}"] = int(((table["split"] == split) & (table["class_name"] == name)).sum())
    if len(table) == 0:
        raise UserError(f"{catalogue.source}: no patch could be cut from {len(records)} mammograms (see the audit)")
    patches = PatchSet(images, masks, table, audit, key)
    cache.store(cache_dir, patches)
    return cache.load(cache_dir, key) or patches, False
