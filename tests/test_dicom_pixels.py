"""DICOM files to the core's uint8: the documented 16- to 8-bit rules, masks, headers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from benchmark.fixture.dicom import DicomFields, write_dicom
from plugins.datasets.cbis_ddsm.headers import UnreadableFile, read_header
from plugins.datasets.cbis_ddsm.pixels import (
    read_dicom_image,
    read_dicom_mask,
    to_uint8,
)

FIELDS = DicomFields(
    "Mass-Training_P_00001_LEFT_CC", "1.2.3", "1.2.3.4", "1.2.3.4.5", "full mammogram images", "L", "CC"
)


def test_bit_depth_rule_is_exact_for_8_bit_values_stored_as_16_bit() -> None:
    values = np.arange(256, dtype=np.uint16).reshape(16, 16)
    assert np.array_equal(to_uint8(values * 257, 16), values.astype(np.uint8))
    twelve = np.array([[0, 2047, 4095, 6000]], np.uint16)  # 12 bits stored; a stray high value saturates
    assert to_uint8(twelve, 12).tolist() == [[0, 127, 255, 255]]


def test_min_max_rule_stretches_each_image() -> None:
    pixels = np.array([[1000, 1600, 2000]], np.uint16)
    assert to_uint8(pixels, 16, "min-max").tolist() == [[0, 153, 255]]
    assert to_uint8(np.full((2, 2), 7, np.uint16), 16, "min-max").tolist() == [[0, 0], [0, 0]]


def test_images_masks_and_headers_from_files(tmp_path: Path) -> None:
    image = (np.arange(60 * 40, dtype=np.uint16).reshape(60, 40) % 256) * 257
    write_dicom(tmp_path / "full.dcm", image, FIELDS)
    assert np.array_equal(read_dicom_image(tmp_path / "full.dcm"), (image // 257).astype(np.uint8))
    header = read_header(tmp_path / "full.dcm")
    assert (header.rows, header.columns, header.bits, header.description) == (60, 40, 16, "full mammogram images")

    ds = pydicom.dcmread(tmp_path / "full.dcm")
    ds.PhotometricInterpretation = "MONOCHROME1"  # white is zero: inverted after scaling
    ds.save_as(tmp_path / "inverted.dcm")
    assert np.array_equal(read_dicom_image(tmp_path / "inverted.dcm"), 255 - (image // 257).astype(np.uint8))

    mask = np.zeros((60, 40), np.uint8)
    mask[10:20, 5:15] = 1  # a 0/1 mask: lossless, so any non-zero pixel is lesion
    write_dicom(tmp_path / "mask.dcm", mask, FIELDS)
    assert np.array_equal(read_dicom_mask(tmp_path / "mask.dcm"), mask * 255)
    assert read_header(tmp_path / "mask.dcm").bits == 8


def test_damaged_files_raise_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + b"\1" * 40)
    with pytest.raises(UnreadableFile, match="bad.dcm"):
        read_header(bad)
    with pytest.raises(ValueError, match="bad.dcm"):
        read_dicom_image(bad)
    jpeg = tmp_path / "bad.jpg"
    jpeg.write_bytes(b"\xff\xd8\xff not really")
    with pytest.raises(UnreadableFile, match="bad.jpg"):
        read_header(jpeg)
