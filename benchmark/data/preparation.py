"""Decode each mammogram and its masks once, cut patches, cache them: in parallel.

The dataset plugin finds files (a :class:`Catalogue`); this module owns pixels. Work is
spread over processes, one mammogram per task; every patch depends on its own image
alone (background positions are seeded by the image id), so the result is identical
whatever the number of workers.

Every lesion of the catalogue ends in exactly one audited outcome: a patch, "not a
class" (BENIGN_WITHOUT_CALLBACK), or a named reason it was dropped; the tally is kept in
the audit's ``lesion ledger`` note.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from benchmark.data import cache
from benchmark.data.audit import Audit
from benchmark.data.background_draw import SPLITS, allocate, available
from benchmark.data.catalogue import Catalogue, ImageRecord, Lesion
from benchmark.data.classes import CLASSES
from benchmark.data.parallel import Progress, run_parallel, worker_state
from benchmark.data.patches import (
    Box,
    background_boxes,
    crop_resized,
    expand,
    find_lesion,
)
from benchmark.data.patchset import MANIFEST_COLUMNS, PatchSet
from benchmark.errors import UserError
from benchmark.files import lock
from benchmark.hashing import stable_hash
from benchmark.spec.schema import PatchParams

#: bump when the patch-cutting rules change: old cache entries then no longer match
PREPARATION_VERSION = 2
ASPECT_TOLERANCE = 0.02

PATCH_CUT = "lesion patches cut"
MAMMOGRAM_UNREADABLE = "mammogram unreadable: dropped with its lesions"
LESIONS_OF_UNREADABLE = "lesions dropped: their mammogram is unreadable"
MASK_UNREADABLE = "mask unreadable: lesion dropped"
MASK_EMPTY = "mask empty: lesion dropped"
MASK_RESIZED = "mask size mismatch: resized"
MASK_ASPECT = "mask size mismatch: dropped (aspect ratio differs)"
BACKGROUND_TOO_LARGE = "background window larger than the image: none cut"
LESION_DROPS = (LESIONS_OF_UNREADABLE, MASK_UNREADABLE, MASK_EMPTY, MASK_ASPECT)

RULES = {
    "mask size": f"a mask of another size than its mammogram is resized (nearest neighbour) when the aspect "
    f"ratios agree within {ASPECT_TOLERANCE:.0%}; otherwise its lesion is dropped",
    "lesion box": "mask > 127, 8-connected components, those under 1% of the largest ignored; box of the "
    "largest component (lesion_box: largest) or of all of them (union), grown by lesion_margin",
    "background": "windows inside the breast, clear of every lesion mask of the image grown by a tenth of the "
    "window; none from an image one of whose masks is unusable",
}


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
        audit.event(MASK_RESIZED, where, detail, effect="repaired")
        return cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    audit.event(MASK_ASPECT, where, detail, effect="dropped")
    return None


def _lesion_mask(dataset: Any, lesion: Lesion, shape: tuple[int, int], audit: Audit) -> np.ndarray | None:
    """The lesion's mask as decoded, at the image's size, or None (the reason is in the audit)."""
    where = f"{lesion.row}: {lesion.mask_path}"
    try:
        raw = dataset.read_mask(Path(lesion.mask_path))
    except Exception as exc:  # corrupt or unreadable: count, name, go on
        audit.event(MASK_UNREADABLE, where, str(exc), effect="dropped")
        return None
    audit.count("masks decoded", effect="read")
    return _fit_mask(raw, shape, where, audit)


def _prepare_image(record: ImageRecord) -> _ImagePatches:
    params: PatchParams
    dataset, params, allocation = worker_state()
    wanted = allocation.get(record.image_id, 0) if allocation is not None else params.background_per_image
    out = _ImagePatches([], [], [], Audit())
    audit = out.audit
    try:
        image = dataset.read_image(Path(record.image_path))
    except Exception as exc:
        audit.event(MAMMOGRAM_UNREADABLE, record.image_path, str(exc), effect="dropped")
        audit.count(LESIONS_OF_UNREADABLE, len(record.lesions), effect="dropped")
        return out
    audit.count("mammograms decoded", effect="read")
    shape = image.shape[:2]
    keep_clear: list[Box] = []
    background_ok = True
    for lesion in record.lesions:
        mask = _lesion_mask(dataset, lesion, shape, audit)
        region = find_lesion(mask) if mask is not None else None
        if mask is not None and region is None:
            audit.event(MASK_EMPTY, f"{lesion.row}: {lesion.mask_path}", effect="dropped")
        if mask is None or region is None:  # no region without a mask
            background_ok = False
            continue
        keep_clear.append(region.extent)
        if region.components > 1:
            kept = "largest kept" if params.lesion_box == "largest" else "union kept"
            audit.event(f"mask with several components: {kept}", lesion.row, f"{region.components} components")
        if lesion.class_name is None:
            audit.count(f"lesions not a class ({lesion.pathology})")
            continue
        box = expand(region.box(params.lesion_box), params.lesion_margin, shape)
        out.images.append(crop_resized(image, box, params.size))
        out.masks.append(crop_resized(mask, box, params.size, is_mask=True))
        out.rows.append(_row(record, lesion.class_name, lesion.abnormality_id, box, True))
        audit.count(PATCH_CUT, effect="resolved")
    if record.background_source and wanted:
        if not background_ok:
            audit.event(
                "background skipped: a lesion mask of the image is unusable", record.image_path, effect="dropped"
            )
            return out
        if params.background_size > min(shape):
            audit.event(BACKGROUND_TOO_LARGE, record.image_path, f"image {shape[0]} x {shape[1]}", effect="dropped")
            return out
        rng = np.random.default_rng(_image_seed(record.image_id))
        boxes = background_boxes(image, keep_clear, params.background_size, wanted, rng)
        if len(boxes) < wanted:
            audit.event("background windows short (no room in breast)", record.image_path, f"{len(boxes)} of {wanted}")
        for k, box in enumerate(boxes):
            out.images.append(crop_resized(image, box, params.size))
            out.masks.append(np.zeros((params.size, params.size), bool))
            out.rows.append(_row(record, "background", f"bg{k + 1}", box, False))
        audit.count("background patches cut", len(boxes), effect="resolved")
    return out


def _row(record: ImageRecord, class_name: str, abnormality: str, box: Box, has_mask: bool) -> dict[str, Any]:
    return {
        "label": CLASSES.index(class_name),
        "class_name": class_name,
        "split": record.split,
        "patient_id": record.patient_id,
        "image_id": record.image_id,
        "abnormality_id": abnormality,
        "box_y0": box.y0,
        "box_x0": box.x0,
        "box_y1": box.y1,
        "box_x1": box.x1,
        "has_mask": has_mask,
    }


def preparation_key(catalogue: Catalogue, params: PatchParams) -> str:
    return stable_hash(
        {"catalogue": catalogue.fingerprint(), "patches": params.model_dump(), "version": PREPARATION_VERSION}, 16
    )


def _ledger(audit: Audit, records: list[ImageRecord]) -> dict[str, int]:
    """Where every lesion of the catalogue went (the parts sum to ``lesions``)."""
    not_a_class = sum(n for key, n in audit.counts.items() if key.startswith("lesions not a class"))
    return {
        "lesions": sum(len(r.lesions) for r in records),
        "patches": audit.counts[PATCH_CUT],
        "not a class": not_a_class,
        "dropped": sum(audit.counts[key] for key in LESION_DROPS),
    }


def _assemble(
    results: list[_ImagePatches], catalogue: Catalogue, records: list[ImageRecord], params: PatchParams, key: str
) -> PatchSet:
    audit = Audit()
    audit.merge(catalogue.audit)
    for result in results:
        audit.merge(result.audit)
    audit.notes["rules"] = RULES
    audit.notes["lesion ledger"] = _ledger(audit, records)
    rows = [row for r in results for row in r.rows]
    size = params.size
    images = np.stack([im for r in results for im in r.images]) if rows else np.zeros((0, size, size), np.uint8)
    masks = np.stack([m for r in results for m in r.masks]) if rows else np.zeros((0, size, size), bool)
    table = pd.DataFrame(rows, columns=[c for c in MANIFEST_COLUMNS if c != "patch_id"])
    table.insert(0, "patch_id", range(len(table)))
    audit.notes["patches"] = {
        f"{split}/{name}": int(((table["split"] == split) & (table["class_name"] == name)).sum())
        for split in ("train", "test")
        for name in CLASSES
    }
    return PatchSet(images, masks, table, audit, key)


def _note_background_draw(
    patches: PatchSet, records: list[ImageRecord], params: PatchParams, allocation: dict[str, int]
) -> None:
    """What the draw of background images asked for and gave, per split (in the audit)."""
    assert params.background_count is not None
    split_of = {r.image_id: r.split for r in records}
    pool = available(records)
    table = patches.table
    draw = {}
    for split in SPLITS:
        cut = table[(table["split"] == split) & (table["class_name"] == "background")]
        requested = int(params.background_count.get(split, 0))
        draw[split] = {
            "requested": requested,
            "images available": pool.get(split, 0),
            "images drawn": sum(1 for i in allocation if split_of[i] == split),
            "images cut from": int(cut["image_id"].nunique()),
            "windows cut": len(cut),
        }
        if len(cut) < requested:
            patches.audit.event(
                "background windows short of background_count", split, f"{len(cut)} of {requested}", effect="dropped"
            )
    patches.audit.notes["background draw"] = draw | {"size": params.background_size, "seed": params.background_seed}


def _main_losses(audit: Audit, n: int = 3) -> str:
    """The most frequent reasons something was dropped, for a message."""
    dropped = sorted(((c, k) for k, c in audit.counts.items() if audit.effects.get(k) == "dropped"), reverse=True)
    return "; ".join(f"{k}: {c}" for c, k in dropped[:n]) or "nothing was dropped"


def prepare(
    dataset: Any,
    catalogue: Catalogue,
    params: PatchParams,
    cache_dir: Path,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
    notes: list[str] | None = None,
) -> tuple[PatchSet, bool]:
    """The patch set for this catalogue and parameters, from the cache when it is there.
    Returns ``(patches, cache_hit)``. ``use_cache=False`` prepares without reading or
    writing the cache (benchmarks). A damaged cache entry is prepared again, and said in
    ``notes`` (the run's warnings): never trusted, never silently kept."""
    if not catalogue.records:
        raise UserError(
            f"{catalogue.source}: no mammogram could be resolved from the case CSVs ({_main_losses(catalogue.audit)})",
            hint="Is this the root of a CBIS-DDSM tree (the Kaggle folder holding csv/ and jpeg/, or a TCIA "
            "download with its case CSVs)? The audit's first events say what was looked for.",
        )
    key = preparation_key(catalogue, params)
    if not use_cache:
        return _prepare(dataset, catalogue, params, key, workers, progress), False

    def checked() -> PatchSet | None:
        try:
            return cache.load(cache_dir, key)
        except cache.DamagedEntry as damaged:
            if notes is not None:
                notes.append(f"patch cache entry {damaged.folder} is damaged ({damaged.why}): prepared again")
            shutil.rmtree(damaged.folder, ignore_errors=True)
            return None

    if (cached := checked()) is not None:
        return cached, True
    with lock(cache.cache_path(cache_dir, key)):  # a second process waits, then finds the entry
        if (cached := checked()) is not None:
            return cached, True
        patches = _prepare(dataset, catalogue, params, key, workers, progress)
        cache.store(cache_dir, patches)
    return cache.load(cache_dir, key) or patches, False


def _prepare(
    dataset: Any, catalogue: Catalogue, params: PatchParams, key: str, workers: int | None, progress: Progress | None
) -> PatchSet:
    records = sorted(catalogue.records, key=lambda r: r.image_id)
    allocation = allocate(records, params.background_count, params.background_seed) if params.background_count else None
    results = run_parallel(_prepare_image, records, (dataset, params, allocation), workers=workers, progress=progress)
    patches = _assemble(results, catalogue, records, params, key)
    if allocation is not None:
        _note_background_draw(patches, records, params, allocation)
    if len(patches) == 0:
        raise UserError(
            f"{catalogue.source}: no patch could be cut from {len(records)} mammograms ({_main_losses(patches.audit)})"
        )
    too_large = patches.audit.counts[BACKGROUND_TOO_LARGE]
    if too_large and not (patches.table["class_name"] == "background").any():
        raise UserError(
            f"dataset.patches.background_size: {params.background_size} pixels is larger than every one of "
            f"the {too_large} background mammograms, so no background patch (a class of the study) "
            "could be cut",
            hint="Lower it to fit the images (the study's 550 suits full-resolution mammograms of about 5000 x 3000).",
        )
    return patches
