"""Reading image files and telling their roles from the files themselves.

A mask is binary and about the size of its mammogram; a crop is small. File names,
``1-``/``2-`` prefixes and the CSV column a path came from do not decide a role.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

#: a candidate whose area is at least this fraction of the mammogram's is a mask
MASK_AREA_FRACTION = 0.2


def image_size(path: Path) -> tuple[int, int] | None:
    """(rows, columns) from the file header alone, or None when unreadable."""
    try:
        with Image.open(path) as im:
            w, h = im.size
        return h, w
    except Exception:
        return None


def read_jpeg(path: Path) -> np.ndarray:
    """A grayscale uint8 array; raises ``ValueError`` naming the file when it cannot be decoded."""
    data = np.fromfile(path, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
    if image is None:
        raise ValueError(f"{path}: not a decodable image")
    return image


def split_roles(candidates: dict[Path, tuple[int, int]], full_size: tuple[int, int]) -> tuple[Path | None, Path | None]:
    """(mask, crop) among an abnormality's files, by size relative to the mammogram."""
    full_area = full_size[0] * full_size[1]
    by_area = sorted(candidates.items(), key=lambda kv: (-(kv[1][0] * kv[1][1]), str(kv[0])))
    mask = next((p for p, (h, w) in by_area if h * w >= MASK_AREA_FRACTION * full_area), None)
    crop = next((p for p, (h, w) in reversed(by_area) if p != mask and h * w < MASK_AREA_FRACTION * full_area), None)
    return mask, crop
