"""What a file says about itself without decoding its pixels: size, bit depth and, for
DICOM, the series description and patient id (pydicom stops before the pixel data)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

DICOM_SUFFIXES = (".dcm", ".dicom")
JPEG_SUFFIXES = (".jpg", ".jpeg")
_DICOM_TAGS = ["Rows", "Columns", "BitsStored", "SeriesDescription", "PatientID"]


class UnreadableFile(ValueError):
    """A file whose header cannot be read; the message names the file and the reason."""


@dataclass(frozen=True)
class FileHeader:
    rows: int
    columns: int
    bits: int  # bits stored per pixel
    description: str | None = None  # DICOM SeriesDescription; None: the format has none
    patient_id: str = ""

    @property
    def area(self) -> int:
        return self.rows * self.columns

    @property
    def size(self) -> tuple[int, int]:
        return self.rows, self.columns


def is_dicom(path: Path) -> bool:
    return path.suffix.lower() in DICOM_SUFFIXES


def jpeg_header(path: Path) -> FileHeader:
    try:
        with Image.open(path) as im:
            w, h = im.size
            bits = 16 if im.mode.startswith("I;16") else 8
    except Exception as exc:
        raise UnreadableFile(f"{path}: not a readable image ({exc.__class__.__name__})") from None
    return FileHeader(h, w, bits)


def dicom_header(path: Path) -> FileHeader:
    import pydicom  # here, not at the top: `cbis-bench validate` imports this module

    try:
        with warnings.catch_warnings():  # a damaged file is reported in the audit, not as a warning
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_DICOM_TAGS)
        rows, columns = int(ds.Rows), int(ds.Columns)
    except Exception as exc:
        raise UnreadableFile(f"{path}: not a readable DICOM file ({exc.__class__.__name__}: {exc})") from None
    return FileHeader(
        rows,
        columns,
        int(ds.get("BitsStored", 8) or 8),
        str(ds.get("SeriesDescription", "") or ""),
        str(ds.get("PatientID", "") or ""),
    )


def read_header(path: Path) -> FileHeader:
    """The header of a JPEG or DICOM file; raises :class:`UnreadableFile`."""
    return dicom_header(path) if is_dicom(path) else jpeg_header(path)
