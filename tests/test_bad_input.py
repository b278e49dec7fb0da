"""Bad input: each problem is named (file or row), counted in the audit, and does not stop
the rest; a tree where nothing resolves fails with one message and exit code 2."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.data.patchset import PatchSet
from benchmark.data.preparation import (
    MAMMOGRAM_UNREADABLE,
    MASK_EMPTY,
    MASK_UNREADABLE,
    prepare,
)
from benchmark.fixture.dicom import DicomFields, write_dicom
from benchmark.spec.schema import PatchParams
from plugins.datasets.cbis_ddsm import CbisDdsm
from plugins.datasets.cbis_ddsm.resolve import (
    FULL_MISSING,
    FULL_UNREADABLE,
    MASK_MISSING,
)
from plugins.datasets.cbis_ddsm.series_tree import FOLDER_UNREADABLE
from tests.conftest import run_cli

PARAMS = PatchParams(size=48, lesion_margin=0.0, background_size=48, background_per_image=2)
HEADER_UNREADABLE = "file unreadable (header): skipped"


def _copy(tree: Path, tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "tree"
    shutil.copytree(tree, root)
    return root, json.loads((root / "fixture-truth.json").read_text())


def _prepare(root: Path, tmp_path: Path) -> PatchSet:
    ds = CbisDdsm({"root": str(root)}, cache_dir=tmp_path / "cache")
    patches, _ = prepare(ds, ds.catalogue(), PARAMS, tmp_path / "cache", workers=1)
    return patches


def _events(patches: PatchSet, kind: str) -> list[dict[str, str]]:
    return [e for e in patches.audit.events if e["kind"] == kind]


def _plain_lesions(truth: dict) -> list[dict]:
    """Lesions with a class, alone on their mammogram, with no planted quirk."""
    per_image: dict[str, int] = {}
    for lesion in truth["lesions"]:
        per_image[lesion["series_uid"]] = per_image.get(lesion["series_uid"], 0) + 1
    return [les for les in truth["lesions"] if les["class"] and not les["quirks"] and per_image[les["series_uid"]] == 1]


def _classic_files(root: Path, lesion: dict) -> dict[str, Path]:
    """The classic tree's full image and abnormality folder of a lesion."""
    subject = root / "CBIS-DDSM"
    full = next(subject.glob(f"{lesion['subject']}/*/{lesion['series_uid']}/*.dcm"))
    abnormality = next(subject.glob(f"{lesion['subject']}_{lesion['abnormality_id']}/*/*"))
    return {"full": full, "abnormality": abnormality}


def _balanced(patches: PatchSet, rows: int) -> None:
    """Nothing dropped without being counted: every row and every lesion is accounted for."""
    case_rows = patches.audit.notes["case rows"]
    assert case_rows["read"] == rows == case_rows["resolved"] + case_rows["skipped"]
    ledger = patches.audit.notes["lesion ledger"]
    assert ledger["lesions"] == case_rows["resolved"] == ledger["patches"] + ledger["not a class"] + ledger["dropped"]


def test_kaggle_missing_corrupt_truncated_and_unlistable(small_tree: Path, tmp_path: Path) -> None:
    root, truth = _copy(small_tree, tmp_path)
    plain = _plain_lesions(truth)
    missing, corrupt, truncated, unlistable = (plain[i]["series_uid"] for i in range(4))
    shutil.rmtree(root / "jpeg" / missing)
    corrupt_file = next((root / "jpeg" / corrupt).glob("*.jpg"))
    corrupt_file.write_bytes(b"not a jpeg at all")
    truncated_file = next((root / "jpeg" / truncated).glob("*.jpg"))
    truncated_file.write_bytes(truncated_file.read_bytes()[:-600])  # the header survives, the end does not
    shutil.rmtree(root / "jpeg" / unlistable)
    (root / "jpeg" / unlistable).write_text("a file where a series folder should be")

    patches = _prepare(root, tmp_path)
    assert any(missing in e["detail"] for e in _events(patches, FULL_MISSING))
    assert [e["where"] for e in _events(patches, HEADER_UNREADABLE)] == [str(corrupt_file)]
    assert [e["where"] for e in _events(patches, MAMMOGRAM_UNREADABLE)] == [str(truncated_file)]
    assert "truncated JPEG" in _events(patches, MAMMOGRAM_UNREADABLE)[0]["detail"]
    assert any(e["where"].endswith(unlistable) for e in _events(patches, FOLDER_UNREADABLE))
    assert patches.audit.counts[FULL_MISSING] == 2  # missing, unlistable: their rows are skipped
    assert [e["detail"] for e in _events(patches, FULL_UNREADABLE)] == [str(corrupt_file)]  # there, but corrupt
    assert patches.audit.counts["lesions dropped: their mammogram is unreadable"] == 1
    _balanced(patches, len(truth["lesions"]))
    assert len(patches.table) > 0


def test_dicom_corrupt_truncated_empty_and_missing_mask(layout_trees: dict[str, Path], tmp_path: Path) -> None:
    root, truth = _copy(layout_trees["tcia-classic"], tmp_path)
    plain = _plain_lesions(truth)
    corrupt = _classic_files(root, plain[0])["full"]
    corrupt.write_bytes(b"DICM" * 100)
    truncated = _classic_files(root, plain[1])["full"]
    truncated.write_bytes(truncated.read_bytes()[:-5000])
    empty_series = _classic_files(root, plain[2])["abnormality"]
    empty_mask = max(empty_series.glob("*.dcm"), key=lambda p: p.stat().st_size)
    write_dicom(
        empty_mask,
        np.zeros((300, 200), np.uint8),  # header fine (mask-sized), pixels all zero
        DicomFields("P", "1.2", empty_series.name, "1.2.3", "ROI mask images", "L", "CC"),
    )
    no_mask_series = _classic_files(root, plain[3])["abnormality"]
    max(no_mask_series.glob("*.dcm"), key=lambda p: p.stat().st_size).unlink()

    patches = _prepare(root, tmp_path)
    assert [e["where"] for e in _events(patches, HEADER_UNREADABLE)] == [str(corrupt)]
    assert [e["where"] for e in _events(patches, MAMMOGRAM_UNREADABLE)] == [str(truncated)]
    assert [e["where"].split(": ", 1)[1] for e in _events(patches, MASK_EMPTY)] == [str(empty_mask)]
    assert any(str(no_mask_series) in e["detail"] for e in _events(patches, MASK_MISSING))
    _balanced(patches, len(truth["lesions"]))
    # the truncated mammogram's lesion, the empty mask's, and the planted masks of another aspect ratio
    assert patches.audit.notes["lesion ledger"]["dropped"] == 2 + truth["quirks"]["mask-aspect-mismatch"]


def test_unreadable_mask_file_and_unlistable_subject_folder(
    layout_trees: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, truth = _copy(layout_trees["tcia-classic"], tmp_path)
    plain = _plain_lesions(truth)
    series = _classic_files(root, plain[0])["abnormality"]
    mask = max(series.glob("*.dcm"), key=lambda p: p.stat().st_size)
    mask.write_bytes(mask.read_bytes()[:-100])  # header intact: resolved, then fails to decode
    locked = root / "CBIS-DDSM" / plain[1]["subject"]
    real_scandir = os.scandir

    def scandir(path: str | Path = ".") -> object:  # as root, chmod cannot make a folder unreadable
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    patches = _prepare(root, tmp_path)
    assert [e["where"] for e in _events(patches, FOLDER_UNREADABLE)] == [str(locked)]
    assert patches.audit.counts[FULL_MISSING] == 1
    assert [e["where"].split(": ", 1)[1] for e in _events(patches, MASK_UNREADABLE)] == [str(mask)]
    _balanced(patches, len(truth["lesions"]))


def test_csv_missing_a_column_is_skipped_named_and_its_rows_counted(small_tree: Path, tmp_path: Path) -> None:
    root, _ = _copy(small_tree, tmp_path)
    path = root / "csv" / "calc_case_description_test_set.csv"
    with open(path, newline="") as fh:
        rows = len(list(csv.DictReader(fh)))
    path.write_text(path.read_text().replace("pathology", "pathologie", 1))
    cat = CbisDdsm({"root": str(root)}, cache_dir=tmp_path / "cache").catalogue()
    event = next(e for e in cat.audit.events if e["kind"] == "case CSV missing columns: file skipped")
    assert event["where"] == str(path) and event["detail"] == "pathology"
    assert cat.audit.counts["case rows skipped with their file (missing columns)"] == rows
    assert cat.records


def test_nothing_resolves_is_one_message_and_exit_2(small_tree: Path, tmp_path: Path) -> None:
    root = tmp_path / "empty-release"
    shutil.copytree(small_tree / "csv", root / "csv")
    (root / "jpeg").mkdir()
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""name: empty
dataset: {{plugin: cbis-ddsm, options: {{root: "{root}"}}}}
normaliser: dataset
matrix: {{backbone: [resnet50], strategy: [simultaneous]}}
""")
    result = run_cli("prepare", str(spec), "--home", str(tmp_path / "home"))
    assert result.code == 2, result.output
    assert "no mammogram could be resolved" in result.stderr and "Traceback" not in result.output
    assert "full mammogram missing: row skipped" in result.stderr  # the first reasons come with it
    result = run_cli("prepare", str(spec).replace("spec.yaml", "nope.yaml"), "--home", str(tmp_path / "home"))
    assert result.code == 2 and "Traceback" not in result.output
