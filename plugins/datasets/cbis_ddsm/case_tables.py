"""The four CBIS-DDSM case-description CSVs, read the way the real files need.

Column names are normalised (lower case, spaces to ``_``: ``breast density`` and
``breast_density`` both become ``breast_density``); every cell is stripped (path cells
end in a newline inside their quotes); each path cell is split into subject, study UID,
series UID and file name. A malformed row (a field too many or too few, a byte that is
not UTF-8, a misplaced quote) is skipped alone, named by file, row and lines, and counted
with the rows skipped (``csv_rows.py``). A file missing a needed column is skipped and
named in the audit with the number of rows it held; the other files are still read. The
TCIA release ships the CSVs apart from the images: they are looked for in a few usual
places.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark.api import Audit
from plugins.datasets.cbis_ddsm.csv_rows import UnreadableCsv, read_rows

CASE_FILES: dict[str, tuple[str, str]] = {
    "mass_case_description_train_set.csv": ("mass", "train"),
    "mass_case_description_test_set.csv": ("mass", "test"),
    "calc_case_description_train_set.csv": ("calcification", "train"),
    "calc_case_description_test_set.csv": ("calcification", "test"),
}
REQUIRED_COLUMNS = [
    "patient_id",
    "left_or_right_breast",
    "image_view",
    "abnormality_id",
    "abnormality_type",
    "pathology",
    "image_file_path",
    "cropped_image_file_path",
    "roi_mask_file_path",
]
PATH_COLUMNS = {"image": "image_file_path", "crop": "cropped_image_file_path", "mask": "roi_mask_file_path"}
#: a row the CSV reader could not cut or decode: skipped alone (one of the resolver's row skips)
ROW_MALFORMED = "case CSV row malformed: row skipped"


@dataclass(frozen=True)
class DicomPath:
    """A path cell: ``<subject>/<StudyInstanceUID>/<SeriesInstanceUID>/<file>.dcm``."""

    subject: str
    study_uid: str
    series_uid: str
    file_name: str

    @classmethod
    def parse(cls, cell: str) -> DicomPath | None:
        parts = [p for p in str(cell).strip().replace("\\", "/").split("/") if p]
        if len(parts) < 4:
            return None
        return cls(parts[-4], parts[-3], parts[-2], parts[-1])


def normalise_column(name: str) -> str:
    return "_".join(str(name).strip().lower().split())


#: ranges of the BI-RADS fields; the real CSVs hold a few values outside (density 0, subtlety 0)
VALID_VALUES = {"breast_density": range(1, 5), "subtlety": range(1, 6)}


def _note_invalid_values(table: pd.DataFrame, file_name: str, audit: Audit) -> None:
    """Count values outside their range (kept as they are: no patch depends on them)."""
    for column, valid in VALID_VALUES.items():
        if column not in table.columns:
            continue
        allowed = {str(v) for v in valid}
        for row, value in zip(table["source_row"], table[column], strict=True):
            if value not in allowed:
                audit.event(
                    f"{column} outside {valid.start}-{valid.stop - 1} (kept, unused)",
                    f"{file_name} row {row}",
                    repr(value),
                )


def read_case_table(path: Path, lesion_kind: str, split: str, audit: Audit) -> pd.DataFrame | None:
    """One case CSV as a normalised table with parsed paths, or None (named in the audit)."""
    try:
        found = read_rows(path)
    except FileNotFoundError:
        audit.event("case CSV missing", str(path), effect="dropped")
        return None
    except (OSError, UnreadableCsv) as exc:  # a folder, no permission, no header line
        audit.event("case CSV unreadable", str(path), str(exc), effect="dropped")
        return None
    rows = len(found.rows) + len(found.bad)  # malformed rows were read too, then skipped
    columns = [normalise_column(c) for c in found.header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        audit.event("case CSV missing columns: file skipped", str(path), ", ".join(missing), effect="dropped")
        audit.count("case rows skipped with their file (missing columns)", rows, effect="dropped")
        return None
    for bad in found.bad:
        audit.event(ROW_MALFORMED, f"{path.name} row {bad.number}", f"{bad.lines}: {bad.reason}", effect="dropped")
    table = pd.DataFrame([[cell.strip() for cell in row.cells] for row in found.rows], columns=columns, dtype=str)
    table["source_file"] = path.name
    table["source_row"] = [row.number for row in found.rows]
    table["split"] = split
    table["lesion_kind"] = lesion_kind
    for role, column in PATH_COLUMNS.items():
        table[f"{role}_path"] = table[column].map(DicomPath.parse)
    audit.count("case rows read", rows, effect="read")
    _note_invalid_values(table, path.name, audit)
    audit.notes.setdefault("rows per file", {})[path.name] = rows
    return table


def find_case_csv_dir(candidates: list[Path]) -> Path | None:
    """The first of ``candidates`` holding at least one of the four case CSVs."""
    return next((d for d in candidates if any((d / name).is_file() for name in CASE_FILES)), None)


def read_case_tables(csv_dir: Path, audit: Audit) -> pd.DataFrame:
    """All four case CSVs of a folder, concatenated (empty when none could be read)."""
    tables = [
        t
        for name, (kind, split) in CASE_FILES.items()
        if (t := read_case_table(csv_dir / name, kind, split, audit)) is not None
    ]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
