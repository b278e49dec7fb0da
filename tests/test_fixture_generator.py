"""The generated trees look like the Kaggle and TCIA releases, quirks included, and are
byte-identical for the same seed."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest

from benchmark.fixture import FixtureConfig, generate_tree
from benchmark.fixture.case_csv import CSV_NAMES
from benchmark.fixture.kaggle import DICOM_INFO_COLUMNS


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_a_byte_identical_tree(tmp_path: Path, small_tree: Path) -> None:
    again = generate_tree(tmp_path / "again", FixtureConfig(seed=3, images=40), workers=1)
    assert _digest(again) == _digest(small_tree)
    other = generate_tree(tmp_path / "other", FixtureConfig(seed=4, images=40))
    assert _digest(other) != _digest(small_tree)


def test_kaggle_layout_and_case_csv_quirks(small_tree: Path) -> None:
    csv_dir = small_tree / "csv"
    assert sorted(p.name for p in csv_dir.iterdir()) == [
        "calc_case_description_test_set.csv",
        "calc_case_description_train_set.csv",
        "dicom_info.csv",
        "mass_case_description_test_set.csv",
        "mass_case_description_train_set.csv",
        "meta.csv",
    ]
    mass_header = (csv_dir / "mass_case_description_train_set.csv").read_text().splitlines()[0]
    calc_header = (csv_dir / "calc_case_description_train_set.csv").read_text().splitlines()[0]
    assert mass_header.startswith("patient_id,breast_density,left or right breast,image view,abnormality id")
    assert calc_header.startswith("patient_id,breast density,left or right breast")
    with open(csv_dir / "mass_case_description_train_set.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["ROI mask file path"].endswith("\n") for r in rows)  # newline inside the quotes
    assert all(not r["cropped image file path"].endswith("\n") for r in rows)
    with open(csv_dir / "calc_case_description_train_set.csv", newline="") as fh:
        assert all(r["cropped image file path"].endswith("\n") for r in csv.DictReader(fh))
    with open(csv_dir / "dicom_info.csv", newline="") as fh:
        info = list(csv.DictReader(fh))
    assert list(info[0].keys()) == DICOM_INFO_COLUMNS and len(DICOM_INFO_COLUMNS) == 38
    for row in info:
        assert (small_tree / row["image_path"].removeprefix("CBIS-DDSM/")).is_file()
    descriptions = {r["SeriesDescription"] for r in info}
    assert descriptions == {"full mammogram images", "cropped images", "ROI mask images", ""}


def test_every_planted_quirk_is_recorded(small_tree: Path) -> None:
    truth = json.loads((small_tree / "fixture-truth.json").read_text())
    for quirk in (
        "crop-own-series",
        "columns-swapped",
        "files-swapped",
        "mask-size-mismatch",
        "mask-aspect-mismatch",
        "mask-description-empty",
        "full-description-empty",
        "density-zero",
        "subtlety-zero",
        "patient-in-both-splits",
        "mixed-pathology",
        "several-abnormalities",
    ):
        assert truth["quirks"].get(quirk, 0) >= 1, quirk


def test_masks_are_binary_and_images_are_breasts_on_black(small_tree: Path) -> None:
    info = list(csv.DictReader(open(small_tree / "csv" / "dicom_info.csv", newline="")))
    full = next(r for r in info if r["SeriesDescription"] == "full mammogram images")
    mask = next(r for r in info if r["SeriesDescription"] == "ROI mask images")
    image = cv2.imread(str(small_tree / full["image_path"].removeprefix("CBIS-DDSM/")), cv2.IMREAD_GRAYSCALE)
    m = cv2.imread(str(small_tree / mask["image_path"].removeprefix("CBIS-DDSM/")), cv2.IMREAD_GRAYSCALE)
    assert image[:, 0].mean() < 5 or image[:, -1].mean() < 5  # black beside the breast
    assert image.mean() > 40
    near_binary = ((m < 30) | (m > 225)).mean()
    assert near_binary > 0.99 and (m > 127).any()


def test_confounded_variant_differs_only_where_it_should(tmp_path: Path) -> None:
    clean = generate_tree(tmp_path / "clean", FixtureConfig(seed=1, images=10))
    conf = generate_tree(tmp_path / "conf", FixtureConfig(seed=1, images=10, variant="confounded"))
    assert (clean / "csv" / "mass_case_description_train_set.csv").read_bytes() == (
        conf / "csv" / "mass_case_description_train_set.csv"
    ).read_bytes()
    truth = json.loads((clean / "fixture-truth.json").read_text())
    has_class: dict[str, bool] = {}
    for lesion in truth["lesions"]:
        has_class[lesion["series_uid"]] = has_class.get(lesion["series_uid"], False) or lesion["class"] is not None
    a, b = _digest(clean), _digest(conf)
    for series, classed in has_class.items():
        full = [k for k in a if k.startswith(f"jpeg/{series}/")]
        assert len(full) == 1
        # the class is drawn differently; background-only mammograms stay identical
        assert (a[full[0]] != b[full[0]]) == classed, series


@pytest.mark.parametrize("layout", ["tcia-classic", "tcia-descriptive"])
def test_tcia_trees_are_byte_identical_for_the_same_seed(layout: str, tmp_path: Path) -> None:
    first = generate_tree(tmp_path / "a", FixtureConfig(seed=5, images=8, layout=layout), workers=1)
    again = generate_tree(tmp_path / "b", FixtureConfig(seed=5, images=8, layout=layout))
    assert _digest(first) == _digest(again)


def test_classic_tree_keeps_the_release_names_and_swaps(layout_trees: dict[str, Path]) -> None:
    root = layout_trees["tcia-classic"]
    truth = json.loads((root / "fixture-truth.json").read_text())
    files = sorted(root.glob("CBIS-DDSM/*/*/*/*.dcm"))
    assert files and {p.name for p in files} == {"000000.dcm", "000001.dcm"}
    assert sorted(p.name for p in root.glob("*.csv")) == sorted(CSV_NAMES.values())
    full = pydicom.dcmread(next(root.glob(f"CBIS-DDSM/*/*/{truth['lesions'][0]['series_uid']}/000000.dcm")))
    assert (full.BitsStored, full.PhotometricInterpretation, full.pixel_array.dtype) == (16, "MONOCHROME2", np.uint16)
    swapped = next(les for les in truth["lesions"] if "files-swapped" in les["quirks"])
    with open(root / CSV_NAMES[(swapped["lesion_type"], swapped["split"])], newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["image file path"].split("/")[2] == swapped["series_uid"])
    named_mask = pydicom.dcmread(root / "CBIS-DDSM" / row["ROI mask file path"].strip())
    named_crop = pydicom.dcmread(root / "CBIS-DDSM" / row["cropped image file path"].strip())
    assert named_mask.SeriesDescription == "cropped images" and named_mask.BitsStored == 16  # the CSV is wrong here
    assert named_crop.SeriesDescription == "ROI mask images" and set(np.unique(named_crop.pixel_array)) <= {0, 255}


def test_descriptive_tree_has_nbia_folders_and_metadata(layout_trees: dict[str, Path]) -> None:
    root = layout_trees["tcia-descriptive"]
    with open(root / "metadata.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"Series UID", "File Location", "Series Description", "Number of Images"} <= set(rows[0])
    for row in rows:
        folder = root.joinpath(*row["File Location"].split("\\"))
        assert re.fullmatch(r"\d{2}-\d{2}-\d{4}-DDSM-\d{5}", folder.parent.name), folder
        assert folder.name == f"1.000000-{row['Series Description'] or 'NA'}-{row['Series UID'][-5:]}"
        assert sorted(p.name for p in folder.iterdir()) == [
            f"1-{k}.dcm" for k in range(1, int(row["Number of Images"]) + 1)
        ]
    assert any(r["Series Description"] == "" for r in rows)  # the release's empty descriptions
