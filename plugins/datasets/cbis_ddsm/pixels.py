"""Decoding a file to the uint8 grayscale array the core cuts patches from.

JPEG (the Kaggle release): OpenCV, as stored. DICOM (the TCIA release): pydicom; full
mammograms and crops are 16-bit MONOCHROME2, masks 8-bit 0/255. The 16- to 8-bit rule:

* ``bit-depth`` (default): ``round(x * 255 / (2**BitsStored - 1))``, saturating. The same
  scale for every image, so an intensity means the same thing on every mammogram, and
  an 8-bit image stored as ``x * 257`` comes back exactly.
* ``min-max``: ``round((x - min) * 255 / (max - min))`` over the image's own pixels,
  a per-image stretch (close to how the Kaggle JPEGs look).

MONOCHROME1 images are inverted after scaling. A DICOM mask is lossless: every non-zero
pixel is lesion (255). Errors raise ``ValueError`` naming the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

Intensity = Literal["bit-depth", "min-max"]


#: a complete JPEG ends with its end-of-image marker (allowing a little padding after it)
_EOI, _EOI_WINDOW = b"\xff\xd9", 4096


def read_jpeg(path: Path) -> np.ndarray:
    """A grayscale uint8 array; raises ``ValueError`` naming the file when it cannot be
    decoded or is truncated (some OpenCV builds decode a truncated file as grey)."""
    data = np.fromfile(path, np.uint8)
    if data.size and _EOI not in data[-_EOI_WINDOW:].tobytes():
        raise ValueError(f"{path}: truncated JPEG (no end-of-image marker)")
    image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
    if image is None:
        raise ValueError(f"{path}: not a decodable image")
    return image


def _dicom_pixels(path: Path) -> tuple[np.ndarray, Any]:
    import pydicom  # here, not at the top: `cbis-bench validate` imports this module

    try:
        with warnings.catch_warnings():  # a damaged file is reported in the audit, not as a warning
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
            pixels = ds.pixel_array
    except Exception as exc:
        raise ValueError(f"{path}: not a decodable DICOM image ({exc.__class__.__name__}: {exc})") from None
    if pixels.ndim != 2:
        raise ValueError(f"{path}: expected one grayscale frame, got an array of shape {pixels.shape}")
    return pixels, ds


def to_uint8(pixels: np.ndarray, bits_stored: int, intensity: Intensity = "bit-depth") -> np.ndarray:
    """Scale stored values to 0..255 by the rule named in ``intensity`` (see the module doc)."""
    if pixels.dtype == np.uint8 and intensity == "bit-depth" and bits_stored >= 8:
        return pixels
    if intensity == "min-max":
        lo, hi, _, _ = cv2.minMaxLoc(pixels)
        alpha = 255.0 / (hi - lo) if hi > lo else 0.0
        return cv2.convertScaleAbs(pixels, alpha=alpha, beta=-lo * alpha)
    source = pixels if pixels.dtype in (np.uint8, np.uint16) else pixels.astype(np.float32)
    return cv2.convertScaleAbs(source, alpha=255.0 / (2 ** max(1, bits_stored) - 1))


def read_dicom_image(path: Path, intensity: Intensity = "bit-depth") -> np.ndarray:
    pixels, ds = _dicom_pixels(path)
    out = to_uint8(pixels, int(ds.get("BitsStored", pixels.dtype.itemsize * 8)), intensity)
    if str(ds.get("PhotometricInterpretation", "MONOCHROME2")) == "MONOCHROME1":
        out = cv2.bitwise_not(out)
    return out


def read_dicom_mask(path: Path) -> np.ndarray:
    pixels, _ = _dicom_pixels(path)
    if pixels.dtype != np.uint8:
        pixels = (pixels != 0).astype(np.uint8)
    return cv2.threshold(pixels, 0, 255, cv2.THRESH_BINARY)[1]
