"""From case rows to mammograms and masks, the same way for every layout.

Per row: the full mammogram is the file of the image column's series (the largest if
several). The files of the crop and mask columns' series are pooled and told apart by
their headers (``roles.split_roles``). Then the row is compared with what was found:
a mask in the crop column's series means the columns were swapped; where the tree keeps
the CSV's file names (classic TCIA), a mask in the file the crop column names means the
names were swapped. Series descriptions are cross-checked (each file once), never
trusted. A path cell naming ``..``, ``.`` or an absolute path is refused before any file
is looked at, and no series folder outside the tree is read (``safe_paths.py``). Every
row ends either resolved or skipped with its reason in the audit (``notes["case
rows"]``), rows the CSV reader refused as malformed included.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.api import Audit, ImageRecord, Lesion, lesion_class
from plugins.datasets.cbis_ddsm.case_tables import ROW_MALFORMED, DicomPath
from plugins.datasets.cbis_ddsm.headers import FileHeader, UnreadableFile, read_header
from plugins.datasets.cbis_ddsm.roles import split_roles
from plugins.datasets.cbis_ddsm.safe_paths import inside, unsafe_part
from plugins.datasets.cbis_ddsm.series_tree import SeriesFiles, SeriesTree

ROLE_DESCRIPTIONS = {"full": "full mammogram images", "mask": "ROI mask images", "crop": "cropped images"}
BAD_CELL = "path cell not <subject>/<study>/<series>/<file>: row skipped"
UNSAFE_CELL = "path cell unsafe (.., . or an absolute path): row skipped"
FULL_MISSING = "full mammogram missing: row skipped"
FULL_UNREADABLE = "full mammogram unreadable: row skipped"
MASK_MISSING = "ROI mask missing: row skipped"
COLUMNS_SWAPPED = "crop/mask columns swapped (mask found in the crop column's series)"
NAMES_SWAPPED = "crop/mask file names swapped (the crop column names the mask's file)"
FOLDER_OUTSIDE = "series folder outside the tree: refused"
ROW_SKIPS = (ROW_MALFORMED, BAD_CELL, UNSAFE_CELL, FULL_MISSING, FULL_UNREADABLE, MASK_MISSING)


class Headers:
    """File headers, each read once; an unreadable file is audited with its reason."""

    def __init__(self, audit: Audit) -> None:
        self.audit = audit
        self._headers: dict[Path, FileHeader | None] = {}

    def __call__(self, path: Path) -> FileHeader | None:
        if path not in self._headers:
            try:
                self._headers[path] = read_header(path)
            except UnreadableFile as exc:
                self._headers[path] = None
                self.audit.event("file unreadable (header): skipped", str(path), str(exc), effect="dropped")
        return self._headers[path]


class Resolver:
    def __init__(self, tree: SeriesTree, root: Path, audit: Audit) -> None:
        self.tree = tree
        self.root = root
        self.audit = audit
        self.headers = Headers(audit)
        self.files = SeriesFiles(tree.suffixes, audit)
        self._folders: dict[DicomPath, Path | None] = {}
        self._prefix = str(root).rstrip(os.sep) + os.sep
        self._described: set[Path] = set()  # files whose series description was checked

    def _folder(self, cell: DicomPath) -> Path | None:
        if cell not in self._folders:
            folder = self.tree.folder(cell)
            if folder is not None and not inside(self.root, folder):  # a layout's mistake: never followed
                self.audit.event(FOLDER_OUTSIDE, str(folder), f"series {cell.series_uid}", effect="dropped")
                folder = None
            self._folders[cell] = folder
        return self._folders[cell]

    @staticmethod
    def _unsafe(row: Any) -> str | None:
        """Why one of a row's path cells cannot be followed (None: all can)."""
        for cell in (row.image_path, row.mask_path, row.crop_path):
            if cell is None:
                continue
            for part in (cell.subject, cell.study_uid, cell.series_uid, cell.file_name):
                if why := unsafe_part(part):
                    return why
        return None

    def _readable(self, cell: DicomPath) -> dict[Path, FileHeader]:
        return {p: h for p in self.files(self._folder(cell)) if (h := self.headers(p)) is not None}

    def _named(self, cell: DicomPath) -> Path | None:
        """The file a path cell names, where this tree keeps the CSV's file names."""
        folder = self._folder(cell)
        return folder / cell.file_name if self.tree.csv_file_names and folder is not None else None

    def _where(self, cell: DicomPath) -> str:
        folder = self._folder(cell)
        if folder is not None:
            return str(folder)
        return f"series {cell.series_uid} (subject {cell.subject}): not in the tree"

    def _check_description(self, path: Path, header: FileHeader, role: str) -> None:
        """Count an empty or contradicting description once per file (a mammogram with
        several lesions has several rows)."""
        if path in self._described:
            return
        self._described.add(path)
        found = self.tree.description(path, header)
        if found is None:
            return
        description, detail = found[0].strip(), found[1]
        relative = str(path).removeprefix(self._prefix)
        if not description:
            self.audit.event(f"empty SeriesDescription recovered ({role})", relative, detail, effect="repaired")
        elif description != ROLE_DESCRIPTIONS[role]:
            self.audit.event(
                "SeriesDescription contradicts the file",
                relative,
                f"says {description!r}, file is a {role}",
                effect="repaired",
            )

    def _check_swaps(self, row: Any, mask: Path, where: str) -> None:
        crop_cell, mask_cell = row.crop_path, row.mask_path
        if crop_cell is None:
            return
        if crop_cell.series_uid != mask_cell.series_uid:
            self.audit.count("crops in a series of their own")
            if self._folder(crop_cell) == mask.parent != self._folder(mask_cell):
                self.audit.event(COLUMNS_SWAPPED, where, effect="repaired")
        elif self._named(crop_cell) == mask and crop_cell.file_name != mask_cell.file_name:
            self.audit.event(
                NAMES_SWAPPED,
                where,
                f"{mask_cell.file_name} is the crop, {crop_cell.file_name} the mask",
                effect="repaired",
            )

    def resolve(self, cases: pd.DataFrame) -> list[ImageRecord]:
        """One record per full mammogram, with every resolved lesion on it."""
        lesions: dict[Path, list[Lesion]] = defaultdict(list)
        first_row: dict[Path, Any] = {}
        rows: Iterable[Any] = cases.itertuples(index=False)  # object columns: DicomPath cells, None
        for row in rows:
            where = f"{row.source_file} row {row.source_row}"
            if row.image_path is None or row.mask_path is None:
                self.audit.event(BAD_CELL, where, effect="dropped")
                continue
            if unsafe := self._unsafe(row):
                self.audit.event(UNSAFE_CELL, where, unsafe, effect="dropped")
                continue
            full_files = self._readable(row.image_path)
            if not full_files:
                present = self.files(self._folder(row.image_path))
                if present:  # there, but no header could be read (each file's reason is audited)
                    self.audit.event(FULL_UNREADABLE, where, ", ".join(map(str, present)), effect="dropped")
                else:
                    self.audit.event(FULL_MISSING, where, self._where(row.image_path), effect="dropped")
                continue
            if len(full_files) > 1:
                self.audit.event("several files in a mammogram series: largest taken", where)
            full, full_header = max(full_files.items(), key=lambda kv: (kv[1].area, str(kv[0])))
            self.audit.count("rows resolved: full mammogram", effect="resolved")
            cells = [row.mask_path] + ([row.crop_path] if row.crop_path is not None else [])
            candidates = {p: h for cell in cells for p, h in self._readable(cell).items() if p != full}
            mask, crop = split_roles(candidates, full_header)
            if crop is not None:
                self.audit.count("rows resolved: crop", effect="resolved")
                self._check_description(crop, candidates[crop], "crop")
            if mask is None:
                self.audit.event(
                    MASK_MISSING, where, "; ".join(dict.fromkeys(self._where(c) for c in cells)), effect="dropped"
                )
                continue
            self.audit.count("rows resolved: ROI mask", effect="resolved")
            self._check_swaps(row, mask, where)
            self._check_description(full, full_header, "full")
            self._check_description(mask, candidates[mask], "mask")
            lesions[full].append(
                Lesion(
                    row.mask_path.subject,
                    row.lesion_kind,
                    row.pathology.upper(),
                    lesion_class(row.lesion_kind, row.pathology),
                    str(mask),
                    where,
                )
            )
            first_row.setdefault(full, row)
        # rows the CSV reader refused as malformed were read too (and are among the skips)
        read = len(cases) + self.audit.counts[ROW_MALFORMED]
        self.audit.notes["case rows"] = {
            "read": read,
            "resolved": self.audit.counts["rows resolved: ROI mask"],
            "skipped": sum(self.audit.counts[k] for k in ROW_SKIPS),
        }
        return [self._record(full, found, first_row[full]) for full, found in sorted(lesions.items())]

    @staticmethod
    def _record(full: Path, found: list[Lesion], row: Any) -> ImageRecord:
        return ImageRecord(
            image_id=row.image_path.series_uid,
            image_path=str(full),
            split=row.split,
            patient_id=row.patient_id,
            lesions=tuple(found),
            background_source=any(lesion.pathology == "BENIGN_WITHOUT_CALLBACK" for lesion in found),
            meta={"subject": row.image_path.subject},
        )
