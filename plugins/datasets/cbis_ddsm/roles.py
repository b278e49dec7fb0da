"""Telling an abnormality's files apart by the files themselves.

A mask is binary and about the size of its mammogram; a crop is small. File names,
``1-``/``2-`` prefixes, the CSV column a path came from and the series description do
not decide a role (all of them are wrong somewhere in the real release).
"""

from __future__ import annotations

from pathlib import Path

from plugins.datasets.cbis_ddsm.headers import FileHeader

#: a candidate whose area is at least this fraction of the mammogram's is a mask
MASK_AREA_FRACTION = 0.2


def split_roles(candidates: dict[Path, FileHeader], full: FileHeader) -> tuple[Path | None, Path | None]:
    """(mask, crop) among an abnormality's files, by size relative to the mammogram."""
    limit = MASK_AREA_FRACTION * full.area
    by_area = sorted(candidates.items(), key=lambda kv: (-kv[1].area, str(kv[0])))
    mask = next((p for p, h in by_area if h.area >= limit), None)
    crop = next((p for p, h in reversed(by_area) if p != mask and h.area < limit), None)
    return mask, crop
