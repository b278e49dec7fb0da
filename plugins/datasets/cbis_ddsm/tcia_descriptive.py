"""The TCIA DICOM release as the NBIA Data Retriever writes it today:
``<Subject>/<MM-DD-YYYY>-DDSM-<last 5 of study UID>/<n>.000000-<SeriesDescription>-<last
5 of series UID>/1-1.dcm`` with a ``metadata.csv`` whose ``Series UID`` and ``File
Location`` columns map each series to its folder.

``metadata.csv`` decides; a series it does not list (or a tree without it) is matched
by subject folder and the last five characters of its UID, and counted. A ``File
Location`` that is absolute or climbs out of the metadata's folder with ``..`` is refused
and counted, never followed (``safe_paths.py``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path, PureWindowsPath

import pandas as pd

from benchmark.api import Audit
from plugins.datasets.cbis_ddsm.case_tables import DicomPath
from plugins.datasets.cbis_ddsm.safe_paths import inside, unsafe_location
from plugins.datasets.cbis_ddsm.series_tree import DicomTree, series_folders
from plugins.datasets.cbis_ddsm.tcia_classic import dicom_root

METADATA = "metadata.csv"
METADATA_COLUMNS = ["Series UID", "File Location"]
STUDY_FOLDER = re.compile(r"^\d{2}-\d{2}-\d{4}-")
LOCATION_UNSAFE = "metadata.csv File Location outside its folder: series entry ignored"


def find_metadata(root: Path) -> Path | None:
    """``metadata.csv`` beside the tree's ``CBIS-DDSM`` folder (the root or its parent)."""
    return next((p for p in (root / METADATA, root.parent / METADATA) if p.is_file()), None)


def _metadata_folders(path: Path, audit: Audit) -> dict[str, Path]:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=METADATA_COLUMNS)
    except Exception as exc:
        audit.event("metadata.csv unreadable: series matched by folder name", str(path), str(exc))
        return {}
    audit.count("metadata.csv series listed", len(table), effect="read")
    # "File Location" is relative to metadata.csv, written with either separator: ".\CBIS-DDSM\..." or "./CBIS-DDSM/..."
    folders: dict[str, Path] = {}
    for row, (uid, location) in enumerate(zip(table["Series UID"], table["File Location"], strict=True), 1):
        location = location.strip()
        why = unsafe_location(location)
        folder = path.parent.joinpath(*PureWindowsPath(location).parts) if why is None else None
        if folder is None or not inside(path.parent, folder):
            audit.event(
                LOCATION_UNSAFE,
                f"{path} row {row}",
                f"series {uid.strip()}: {location!r} {why or 'is outside'}",
                effect="dropped",
            )
            continue
        folders[uid.strip()] = folder
    return folders


class DescriptiveTree(DicomTree):
    name = "tcia-descriptive"
    csv_file_names = False

    def __init__(self, root: Path, audit: Audit, csv_dir: Path | None) -> None:
        self.root = root
        self.csv_dir = csv_dir
        self.audit = audit
        metadata = find_metadata(root)
        if metadata is None:
            audit.event("metadata.csv missing: series matched by folder name", str(root / METADATA))
        self._folders = _metadata_folders(metadata, audit) if metadata else {}
        self._by_suffix: dict[tuple[str, str], list[Path]] | None = None

    def _suffix_index(self) -> dict[tuple[str, str], list[Path]]:
        if self._by_suffix is None:
            self._by_suffix = defaultdict(list)
            for subject, folder in series_folders(dicom_root(self.root), self.audit):
                self._by_suffix[(subject, folder.name.rsplit("-", 1)[-1])].append(folder)
        return self._by_suffix

    def folder(self, cell: DicomPath) -> Path | None:
        if cell.series_uid in self._folders:
            return self._folders[cell.series_uid]
        found = self._suffix_index().get((cell.subject, cell.series_uid[-5:]), [])
        if len(found) != 1:
            return None
        self._folders[cell.series_uid] = found[0]
        self.audit.event(
            "series matched by folder name (not in metadata.csv)", str(found[0]), cell.series_uid, effect="repaired"
        )
        return found[0]
