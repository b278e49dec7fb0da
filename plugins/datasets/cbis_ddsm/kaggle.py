"""The Kaggle JPEG release: ``csv/`` plus ``jpeg/<SeriesInstanceUID>/<k>-<NNN>.jpg``.

Each path cell's third component (the SeriesInstanceUID) names a folder of ``jpeg/``.
``dicom_info.csv`` is read only to cross-check series descriptions (empty or
contradicting ones are counted), never to decide a file's role.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from benchmark.api import Audit
from plugins.datasets.cbis_ddsm.case_tables import DicomPath
from plugins.datasets.cbis_ddsm.headers import JPEG_SUFFIXES, FileHeader


def looks_like_kaggle(root: Path) -> bool:
    return (root / "jpeg").is_dir()


def _dicom_info(path: Path, audit: Audit) -> dict[str, dict[str, str]]:
    """``jpeg/<series>/<file>`` -> its row of ``dicom_info.csv`` (empty when absent)."""
    try:
        table = pd.read_csv(
            path, dtype=str, keep_default_na=False, usecols=["image_path", "SeriesDescription", "PatientID"]
        )
    except FileNotFoundError:
        audit.event("dicom_info.csv missing (descriptions not cross-checked)", str(path))
        return {}
    except Exception as exc:
        audit.event("dicom_info.csv unreadable (descriptions not cross-checked)", str(path), str(exc))
        return {}
    keys = table["image_path"].str.strip().str.replace(r"^.*?jpeg/", "jpeg/", regex=True)
    rows = zip(keys, table["SeriesDescription"], table["PatientID"], strict=True)
    return {key: {"SeriesDescription": description, "PatientID": patient} for key, description, patient in rows}


class KaggleTree:
    name = "kaggle"
    suffixes = JPEG_SUFFIXES
    csv_file_names = False

    def __init__(self, root: Path, audit: Audit, csv_dir: Path | None = None) -> None:
        self.root = root
        self.csv_dir = csv_dir or root / "csv"
        self._info = _dicom_info(root / "csv" / "dicom_info.csv", audit)
        self._prefix = str(root).rstrip(os.sep) + os.sep

    def folder(self, cell: DicomPath) -> Path | None:
        return self.root / "jpeg" / cell.series_uid

    def description(self, path: Path, header: FileHeader) -> tuple[str, str] | None:
        row = self._info.get(str(path).removeprefix(self._prefix).replace(os.sep, "/"))
        return None if row is None else (row["SeriesDescription"], f"PatientID {row['PatientID']}")


def source_paths(root: Path) -> list[Path]:
    return [root / "csv", root / "jpeg"]
