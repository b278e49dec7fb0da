"""The Kaggle JPEG release: ``csv/`` plus ``jpeg/<SeriesInstanceUID>/<k>-<NNN>.jpg``.

Each path cell's third component (the SeriesInstanceUID) names a folder. Crop and mask
usually share one; about 110 crops sit in a series of their own and some rows name
crop and mask the other way round, so the files of the crop and mask columns are pooled
and their roles told from the files (``images.split_roles``). ``dicom_info.csv`` is read
only to count what it gets wrong (empty or contradicting ``SeriesDescription``).
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pandas as pd

from benchmark.data.audit import Audit
from benchmark.data.catalogue import ImageRecord, Lesion
from benchmark.data.classes import lesion_class
from plugins.datasets.cbis_ddsm.case_tables import read_case_tables
from plugins.datasets.cbis_ddsm.images import image_size, split_roles

ROLE_DESCRIPTIONS = {"full": "full mammogram images", "mask": "ROI mask images", "crop": "cropped images"}


def looks_like_kaggle(root: Path) -> bool:
    return (root / "csv").is_dir() and (root / "jpeg").is_dir()


class _Tree:
    """Lazy, cached view of ``jpeg/``: files per series folder and their sizes."""

    def __init__(self, root: Path, audit: Audit) -> None:
        self.jpeg = root / "jpeg"
        self.audit = audit
        self._files: dict[str, list[Path]] = {}
        self._sizes: dict[Path, tuple[int, int] | None] = {}

    def files(self, series: str) -> list[Path]:
        if series not in self._files:
            folder = self.jpeg / series
            try:
                names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".jpeg")))
            except FileNotFoundError:
                names = []
            except OSError as exc:
                self.audit.event("series folder unreadable", str(folder), exc.strerror or str(exc))
                names = []
            self._files[series] = [folder / n for n in names]
        return self._files[series]

    def size(self, path: Path) -> tuple[int, int] | None:
        if path not in self._sizes:
            self._sizes[path] = image_size(path)
            if self._sizes[path] is None:
                self.audit.event("file unreadable (header)", str(path))
        return self._sizes[path]


def _dicom_info(root: Path, audit: Audit) -> dict[str, dict[str, str]]:
    """``jpeg/<series>/<file>`` -> row of ``dicom_info.csv`` (empty when absent)."""
    path = root / "csv" / "dicom_info.csv"
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=["image_path", "SeriesDescription", "PatientID"])
    except FileNotFoundError:
        audit.event("dicom_info.csv missing (descriptions not cross-checked)", str(path))
        return {}
    except Exception as exc:
        audit.event("dicom_info.csv unreadable (descriptions not cross-checked)", str(path), str(exc))
        return {}
    keys = table["image_path"].str.strip().str.replace(r"^.*?jpeg/", "jpeg/", regex=True)
    return dict(zip(keys, table[["SeriesDescription", "PatientID"]].to_dict("records")))


def _check_description(info: dict[str, dict[str, str]], root: Path, path: Path, role: str, audit: Audit) -> None:
    row = info.get(str(path.relative_to(root)).replace(os.sep, "/"))
    if row is None:
        return
    description = row["SeriesDescription"].strip()
    if not description:
        audit.event(f"empty SeriesDescription recovered ({role})", str(path.relative_to(root)), f"PatientID {row['PatientID']}")
    elif description != ROLE_DESCRIPTIONS[role]:
        audit.event("SeriesDescription contradicts the file", str(path.relative_to(root)), f"says {description!r}, file is a {role}")


def kaggle_records(root: Path, audit: Audit) -> list[ImageRecord]:
    """Resolve every case row of a Kaggle tree to its mammogram and mask files."""
    cases = read_case_tables(root / "csv", audit)
    if cases.empty:
        return []
    info = _dicom_info(root, audit)
    tree = _Tree(root, audit)
    lesions: dict[Path, list[Lesion]] = defaultdict(list)
    meta: dict[Path, dict[str, str]] = {}
    for row in cases.itertuples(index=False):
        where = f"{row.source_file} row {row.source_row}"
        if row.image_path is None or row.mask_path is None:
            audit.event("path cell not <subject>/<study>/<series>/<file>: row skipped", where)
            continue
        full_files = [p for p in tree.files(row.image_path.series_uid) if tree.size(p)]
        if not full_files:
            audit.event("full mammogram missing: row skipped", where, f"jpeg/{row.image_path.series_uid}/")
            continue
        if len(full_files) > 1:
            audit.event("several files in a mammogram series: largest taken", where)
        full = max(full_files, key=lambda p: (tree.size(p)[0] * tree.size(p)[1], str(p)))  # type: ignore[index]
        audit.count("rows resolved: full mammogram")
        series = {row.mask_path.series_uid, *([row.crop_path.series_uid] if row.crop_path else [])}
        candidates = {p: s for uid in sorted(series) for p in tree.files(uid) if (s := tree.size(p))}
        mask, crop = split_roles(candidates, tree.size(full))  # type: ignore[arg-type]
        if crop is not None:
            audit.count("rows resolved: crop")
        if mask is None:
            audit.event("ROI mask missing: row skipped", where, ", ".join(f"jpeg/{s}/" for s in sorted(series)))
            continue
        audit.count("rows resolved: ROI mask")
        if row.crop_path and row.crop_path.series_uid != row.mask_path.series_uid:
            audit.count("crops in a series of their own")
            if mask.parent.name != row.mask_path.series_uid:
                audit.event("crop/mask columns swapped (mask found in the crop column's series)", where)
        _check_description(info, root, full, "full", audit)
        _check_description(info, root, mask, "mask", audit)
        cls = lesion_class(row.lesion_kind, row.pathology)
        lesions[full].append(Lesion(f"{row.mask_path.subject}", row.lesion_kind, row.pathology.upper(), cls, str(mask), where))
        meta.setdefault(full, {"patient_id": row.patient_id, "split": row.split, "subject": row.image_path.subject})
    return [
        ImageRecord(
            image_id=full.parent.name,
            image_path=str(full),
            split=meta[full]["split"],
            patient_id=meta[full]["patient_id"],
            lesions=tuple(found),
            background_source=any(lesion.pathology == "BENIGN_WITHOUT_CALLBACK" for lesion in found),
            meta={"subject": meta[full]["subject"]},
        )
        for full, found in sorted(lesions.items())
    ]
