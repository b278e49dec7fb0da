"""The generated tree looks like the Kaggle release, quirks included, and is
byte-identical for the same seed."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import cv2

from benchmark.fixture import FixtureConfig, generate_tree
from benchmark.fixture.kaggle import DICOM_INFO_COLUMNS


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_a_byte_identical_tree(tmp_path: Path, small_tree: Path) -> None:
    again = generate_tree(tmp_path / "again", FixtureConfig(seed=3, images=40), workers=1)
    assert _digest(again) == _digest(small_tree)
    other = generate_tree(tmp_path / "other", FixtureConfig(seed=4, images=40))
    assert _digest(other) != _digest(small_tree)


def test_kaggle_layout_and_case_csv_quirks(small_tree: Path) -> None:
    csv_dir = small_tree / "csv"
    assert sorted(p.name for p in csv_dir.iterdir()) == [
        "calc_case_description_test_set.csv", "calc_case_description_train_set.csv", "dicom_info.csv",
        "mass_case_description_test_set.csv", "mass_case_description_train_set.csv", "meta.csv"]
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
    for quirk in ("crop-own-series", "columns-swapped", "mask-size-mismatch", "mask-aspect-mismatch",
                  "mask-description-empty", "full-description-empty", "density-zero", "subtlety-zero",
                  "patient-in-both-splits", "mixed-pathology", "several-abnormalities"):
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
    assert (clean / "csv" / "mass_case_description_train_set.csv").read_bytes() == \
           (conf / "csv" / "mass_case_description_train_set.csv").read_bytes()
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
