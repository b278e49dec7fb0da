"""Which of the three CBIS-DDSM trees a folder holds, told from the tree itself.

* ``kaggle``: a ``jpeg/`` folder (with ``csv/``).
* ``tcia-descriptive``: a ``metadata.csv`` with ``Series UID`` and ``File Location``
  columns, or study folders named ``MM-DD-YYYY-...`` under the subject folders.
* ``tcia-classic``: study folders named by their UID under the subject folders.

The TCIA subject folders sit in ``CBIS-DDSM/`` or directly in the root; only the first
few are looked at, so detection costs a handful of directory listings.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from benchmark.api import Audit
from plugins.datasets.cbis_ddsm.case_tables import CASE_FILES, find_case_csv_dir
from plugins.datasets.cbis_ddsm.kaggle import KaggleTree, looks_like_kaggle
from plugins.datasets.cbis_ddsm.series_tree import SeriesTree
from plugins.datasets.cbis_ddsm.tcia_classic import UID, ClassicTree, dicom_root
from plugins.datasets.cbis_ddsm.tcia_descriptive import (
    METADATA_COLUMNS,
    STUDY_FOLDER,
    DescriptiveTree,
    find_metadata,
)

LAYOUTS = ("kaggle", "tcia-classic", "tcia-descriptive")
SAMPLED_SUBJECTS = 8


def _study_folder_names(root: Path) -> list[str]:
    names: list[str] = []
    try:
        with os.scandir(dicom_root(root)) as it:
            subjects = sorted(e.path for e in it if e.is_dir() and not e.name.startswith("."))[:SAMPLED_SUBJECTS]
        for subject in subjects:
            with os.scandir(subject) as it:
                names += [e.name for e in it if e.is_dir()]
    except OSError:
        pass
    return names


def _has_metadata(root: Path) -> bool:
    path = find_metadata(root)
    try:
        return path is not None and set(METADATA_COLUMNS) <= set(pd.read_csv(path, nrows=0).columns)
    except Exception:
        return False


def detect_layout(root: Path) -> str | None:
    if looks_like_kaggle(root):
        return "kaggle"
    if _has_metadata(root):
        return "tcia-descriptive"
    studies = _study_folder_names(root)
    if any(STUDY_FOLDER.match(n) for n in studies):
        return "tcia-descriptive"
    if any(UID.match(n) for n in studies):
        return "tcia-classic"
    return None


def case_csv_dir(layout: str, root: Path, csv_dir: Path | None) -> Path | None:
    """The folder of the case CSVs: ``csv_dir`` when given, else the first usual place
    holding one (the TCIA release ships them apart from the images)."""
    if csv_dir is not None:
        return csv_dir
    if layout == "kaggle":
        return root / "csv"
    return find_case_csv_dir([root, root / "csv", dicom_root(root), root.parent])


def source_paths(layout: str, root: Path, csv_dir: Path | None) -> list[Path]:
    """Everything a catalogue of this tree is built from (for its cache key)."""
    found = case_csv_dir(layout, root, csv_dir)
    csvs = [found / name for name in CASE_FILES] if found is not None else []
    if layout == "kaggle":
        return [root / "csv", root / "jpeg", *csvs]
    metadata = find_metadata(root)
    return [dicom_root(root), *csvs, *([metadata] if metadata else [])]


def open_tree(layout: str, root: Path, audit: Audit, csv_dir: Path | None) -> SeriesTree:
    csv_dir = case_csv_dir(layout, root, csv_dir)
    if layout == "kaggle":
        return KaggleTree(root, audit, csv_dir)
    return ClassicTree(root, audit, csv_dir) if layout == "tcia-classic" else DescriptiveTree(root, audit, csv_dir)
