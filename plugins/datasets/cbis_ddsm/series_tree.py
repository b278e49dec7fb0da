"""What the row resolver needs from a layout, and the listing helpers the layouts share.

A layout answers one question per path cell of a case CSV: which folder holds that
series? Everything after that (headers, roles, swaps, descriptions) is the same for
every layout (``resolve.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from benchmark.api import Audit
from plugins.datasets.cbis_ddsm.case_tables import DicomPath
from plugins.datasets.cbis_ddsm.headers import DICOM_SUFFIXES, FileHeader

FOLDER_UNREADABLE = "folder unreadable"


class SeriesTree(Protocol):
    # read by the resolver, never set: properties, so a layout's narrower types fit
    @property
    def name(self) -> str: ...

    @property
    def csv_dir(self) -> Path | None: ...

    @property
    def suffixes(self) -> tuple[str, ...]:
        """Image files of this layout."""

    @property
    def csv_file_names(self) -> bool:
        """The file names of the CSV's path cells exist in this tree."""

    def folder(self, cell: DicomPath) -> Path | None:
        """The folder holding the series a path cell names (None: not in the tree)."""

    def description(self, path: Path, header: FileHeader) -> tuple[str, str] | None:
        """(SeriesDescription, detail for messages) of a file, or None when unknown."""


class DicomTree:
    """What both TCIA layouts share: DICOM files, each describing itself in its header."""

    suffixes = DICOM_SUFFIXES

    def description(self, path: Path, header: FileHeader) -> tuple[str, str] | None:
        if header.description is None:  # not a DICOM header (which always has one, "" when blank)
            return None
        return header.description, f"PatientID {header.patient_id}"


def subfolders(folder: Path, audit: Audit) -> list[os.DirEntry[str]]:
    """The sub-folders of ``folder``, sorted by name; an unreadable folder is audited."""
    try:
        with os.scandir(folder) as it:
            return sorted((e for e in it if not e.name.startswith(".") and e.is_dir()), key=lambda e: e.name)
    except OSError as exc:
        audit.event(FOLDER_UNREADABLE, str(folder), exc.strerror or str(exc), effect="dropped")
        return []


def series_folders(dicom_root: Path, audit: Audit) -> Iterator[tuple[str, Path]]:
    """(subject, series folder) for every ``<subject>/<study>/<series>/`` under a TCIA root."""
    for subject in subfolders(dicom_root, audit):
        for study in subfolders(Path(subject.path), audit):
            for series in subfolders(Path(study.path), audit):
                yield subject.name, Path(series.path)


class SeriesFiles:
    """The image files of series folders, each folder listed once."""

    def __init__(self, suffixes: tuple[str, ...], audit: Audit) -> None:
        self.suffixes = suffixes
        self.audit = audit
        self._files: dict[Path, list[Path]] = {}

    def __call__(self, folder: Path | None) -> list[Path]:
        if folder is None:
            return []
        if folder not in self._files:
            try:
                names = sorted(n for n in os.listdir(folder) if n.lower().endswith(self.suffixes))
            except FileNotFoundError:
                names = []
            except OSError as exc:
                self.audit.event(FOLDER_UNREADABLE, str(folder), exc.strerror or str(exc), effect="dropped")
                names = []
            self._files[folder] = [folder / n for n in names]
        return self._files[folder]
