"""The TCIA DICOM release, classic layout:
``CBIS-DDSM/<Subject>/<StudyInstanceUID>/<SeriesInstanceUID>/<file>.dcm``, files named
``000000.dcm``/``000001.dcm`` (the original release, where the CSV's names can be
checked against the files) or ``1-1.dcm``/``1-2.dcm`` (newer downloads).

Series folders are indexed by name once (one walk of three levels), so a path cell
resolves by its series UID whatever subject or study folder it sits in.
"""

from __future__ import annotations

import re
from pathlib import Path

from benchmark.api import Audit
from plugins.datasets.cbis_ddsm.case_tables import DicomPath
from plugins.datasets.cbis_ddsm.series_tree import DicomTree, series_folders

UID = re.compile(r"^\d+(\.\d+)+$")


def dicom_root(root: Path) -> Path:
    """The folder holding the subject folders: ``root/CBIS-DDSM`` when there is one."""
    return root / "CBIS-DDSM" if (root / "CBIS-DDSM").is_dir() else root


class ClassicTree(DicomTree):
    name = "tcia-classic"
    csv_file_names = True

    def __init__(self, root: Path, audit: Audit, csv_dir: Path | None) -> None:
        self.csv_dir = csv_dir
        self._folders: dict[str, Path] = {}
        for _, folder in series_folders(dicom_root(root), audit):
            if UID.match(folder.name) and self._folders.setdefault(folder.name, folder) != folder:
                audit.event("series folder found twice: first kept", str(folder), str(self._folders[folder.name]))

    def folder(self, cell: DicomPath) -> Path | None:
        return self._folders.get(cell.series_uid)
