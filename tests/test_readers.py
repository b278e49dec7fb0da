"""The three trees of one seed (Kaggle JPEG, TCIA classic, TCIA descriptive) read end to
end: the layout is detected, every row resolves, every planted quirk is found and
counted, and the patch sets are identical (classes, counts, boxes and pixels)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.data.patchset import PatchSet
from benchmark.data.preparation import MASK_ASPECT, MASK_RESIZED, prepare
from benchmark.errors import UserError
from benchmark.spec.schema import PatchParams
from plugins.datasets.cbis_ddsm import CbisDdsm, resolve
from plugins.datasets.cbis_ddsm.resolve import COLUMNS_SWAPPED, NAMES_SWAPPED

LAYOUTS = ("kaggle", "tcia-classic", "tcia-descriptive")
PARAMS = PatchParams(size=48, lesion_margin=0.0, background_size=48, background_per_image=2)

#: planted quirk -> the audit counter that must count each one
QUIRK_COUNTERS = {
    "crop-own-series": "crops in a series of their own",
    "columns-swapped": COLUMNS_SWAPPED,
    "files-swapped": NAMES_SWAPPED,
    "mask-size-mismatch": MASK_RESIZED,
    "mask-aspect-mismatch": MASK_ASPECT,
    "mask-description-empty": "empty SeriesDescription recovered (mask)",
    "full-description-empty": "empty SeriesDescription recovered (full)",
    "density-zero": "breast_density outside 1-4 (kept, unused)",
    "subtlety-zero": "subtlety outside 1-5 (kept, unused)",
    "patient-in-both-splits": "patients in both official train and test",
    "mixed-pathology": "mammograms with mixed pathology",
    "several-abnormalities": "mammograms with several lesions",
}
#: quirks a layout cannot show: only the classic TCIA tree keeps the CSV's file names
INVISIBLE = {"kaggle": {"files-swapped"}, "tcia-descriptive": {"files-swapped"}, "tcia-classic": set()}


def _dataset(root: Path, tmp_path: Path, **options: str) -> CbisDdsm:
    return CbisDdsm({"root": str(root), **options}, cache_dir=tmp_path / "cache")


def _prepared(root: Path, tmp_path: Path, **options: str) -> PatchSet:
    ds = _dataset(root, tmp_path, **options)
    patches, _ = prepare(ds, ds.catalogue(), PARAMS, tmp_path / "cache", workers=1)
    return patches


def _truth(root: Path) -> dict:
    return json.loads((root / "fixture-truth.json").read_text())


def _assert_same_patches(a: PatchSet, b: PatchSet) -> None:
    assert a.table.equals(b.table)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.masks, b.masks)


@pytest.fixture(scope="module")
def prepared(layout_trees: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, PatchSet]:
    return {layout: _prepared(root, tmp_path_factory.mktemp(layout)) for layout, root in layout_trees.items()}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_is_detected_and_every_row_resolves(
    layout: str, layout_trees: dict[str, Path], prepared: dict[str, PatchSet]
) -> None:
    audit = prepared[layout].audit
    rows = len(_truth(layout_trees[layout])["lesions"])
    assert audit.notes["layout"] == layout
    assert audit.notes["case rows"] == {"read": rows, "resolved": rows, "skipped": 0}
    for role in ("full mammogram", "ROI mask", "crop"):
        assert audit.counts[f"rows resolved: {role}"] == rows
    ledger = audit.notes["lesion ledger"]
    assert ledger["lesions"] == rows == ledger["patches"] + ledger["not a class"] + ledger["dropped"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_planted_quirk_is_found_and_counted(
    layout: str, layout_trees: dict[str, Path], prepared: dict[str, PatchSet]
) -> None:
    planted = _truth(layout_trees[layout])["quirks"]
    assert set(planted) == set(QUIRK_COUNTERS), "a planted quirk without a counter (or the reverse)"
    counts = prepared[layout].audit.counts
    found = {quirk: counts[QUIRK_COUNTERS[quirk]] for quirk in planted}
    expected = {quirk: 0 if quirk in INVISIBLE[layout] else n for quirk, n in planted.items()}
    assert found == expected
    assert not any(e["kind"].endswith("skipped") for e in prepared[layout].audit.events)


def test_the_three_layouts_give_the_same_patch_set(prepared: dict[str, PatchSet]) -> None:
    kaggle = prepared["kaggle"]
    assert set(kaggle.table["class_name"]) == {
        "background",
        "benign_mass",
        "malignant_mass",
        "benign_calcification",
        "malignant_calcification",
    }
    for layout in ("tcia-classic", "tcia-descriptive"):
        _assert_same_patches(kaggle, prepared[layout])


def test_classic_tree_with_newer_file_names(
    layout_trees: dict[str, Path], prepared: dict[str, PatchSet], tmp_path: Path
) -> None:
    """Newer TCIA downloads name files 1-1.dcm, 1-2.dcm: roles still come from the files."""
    root = tmp_path / "classic"
    shutil.copytree(layout_trees["tcia-classic"], root)
    for path in sorted(root.glob("CBIS-DDSM/*/*/*/00000*.dcm")):
        path.rename(path.with_name(f"1-{int(path.stem) + 1}.dcm"))
    patches = _prepared(root, tmp_path)
    _assert_same_patches(prepared["kaggle"], patches)
    assert patches.audit.counts[NAMES_SWAPPED] == 0  # nothing left to compare the CSV's names with


def test_descriptive_tree_without_metadata_or_with_forward_slashes(
    layout_trees: dict[str, Path], prepared: dict[str, PatchSet], tmp_path: Path
) -> None:
    root = tmp_path / "descriptive"
    shutil.copytree(layout_trees["tcia-descriptive"], root)
    metadata = root / "metadata.csv"
    metadata.write_text(metadata.read_text().replace("\\", "/"))  # NBIA on Linux writes ./CBIS-DDSM/...
    _assert_same_patches(prepared["kaggle"], _prepared(root, tmp_path / "slashes"))
    series = len(metadata.read_text().splitlines()) - 1
    metadata.unlink()
    patches = _prepared(root, tmp_path / "no-metadata")
    _assert_same_patches(prepared["kaggle"], patches)
    assert patches.audit.counts["series matched by folder name (not in metadata.csv)"] == series
    assert patches.audit.counts["metadata.csv missing: series matched by folder name"] == 1


def test_case_csvs_are_found_beside_the_tree_or_named(layout_trees: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "classic"
    shutil.copytree(layout_trees["tcia-classic"], root)
    elsewhere = tmp_path / "downloads"
    elsewhere.mkdir()
    for csv in root.glob("*_case_description_*.csv"):
        shutil.move(csv, elsewhere / csv.name)
    with pytest.raises(UserError, match="none of the four CBIS-DDSM case CSVs found"):
        _dataset(root, tmp_path).catalogue()
    assert _dataset(root, tmp_path, csv_dir=str(elsewhere)).catalogue().records


def test_catalogue_is_cached_until_the_tree_changes(
    layout_trees: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "classic"
    shutil.copytree(layout_trees["tcia-classic"], root)
    first = _dataset(root, tmp_path).catalogue()
    reads: list[Path] = []
    real_read_header = resolve.read_header
    monkeypatch.setattr(resolve, "read_header", lambda path: reads.append(path) or real_read_header(path))
    again = _dataset(root, tmp_path).catalogue()
    assert reads == [] and again.records == first.records and again.fingerprint() == first.fingerprint()
    assert again.audit.to_dict() == first.audit.to_dict()
    changed = Path(first.records[0].image_path)
    changed.write_bytes(changed.read_bytes())  # same bytes, new modification time
    rebuilt = _dataset(root, tmp_path).catalogue()
    assert reads and rebuilt.records == first.records and rebuilt.fingerprint() != first.fingerprint()


def test_dicom_intensity_rule_is_part_of_the_cache_key(
    layout_trees: dict[str, Path], prepared: dict[str, PatchSet], tmp_path: Path
) -> None:
    scaled = prepared["tcia-classic"]
    stretched = _prepared(layout_trees["tcia-classic"], tmp_path, dicom_intensity="min-max")
    assert stretched.key != scaled.key
    lesions = [
        p.table[p.table["has_mask"]].drop(columns="patch_id").reset_index(drop=True) for p in (scaled, stretched)
    ]
    assert lesions[0].equals(lesions[1])  # the same lesions and boxes (masks decide them) ...
    assert not np.array_equal(
        stretched.images[stretched.table["has_mask"].to_numpy()], scaled.images[scaled.table["has_mask"].to_numpy()]
    )  # ... other pixels


def test_wrong_folder_fails_with_one_clear_message(tmp_path: Path) -> None:
    (tmp_path / "photos" / "holiday").mkdir(parents=True)
    with pytest.raises(UserError, match="does not look like a CBIS-DDSM tree"):
        _dataset(tmp_path / "photos", tmp_path).catalogue()
    with pytest.raises(UserError, match="is not a folder"):
        _dataset(tmp_path / "nowhere", tmp_path).catalogue()
