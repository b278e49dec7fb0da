"""Faults in the data a user points the reader at, and in the folder ``fixture`` writes to:
each costs what it damages and no more, is named (file, row, path) and counted in the
audit, and the ledgers still balance (``read == resolved + skipped``)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

import benchmark.fixture.generate as fixture_generate
from benchmark.data.audit import Audit
from benchmark.data.patchset import PatchSet
from benchmark.data.preparation import prepare
from benchmark.errors import UserError
from benchmark.fixture import FixtureConfig, generate_tree
from benchmark.fixture.case_csv import CSV_NAMES
from benchmark.spec.schema import PatchParams
from plugins.datasets.cbis_ddsm import CbisDdsm, resolve
from plugins.datasets.cbis_ddsm.case_tables import ROW_MALFORMED, read_case_tables
from plugins.datasets.cbis_ddsm.csv_rows import Row, read_rows
from plugins.datasets.cbis_ddsm.resolve import (
    FULL_MISSING,
    FULL_UNREADABLE,
    UNSAFE_CELL,
)
from plugins.datasets.cbis_ddsm.safe_paths import unsafe_location, unsafe_part
from plugins.datasets.cbis_ddsm.series_tree import SeriesFiles
from plugins.datasets.cbis_ddsm.tcia_descriptive import LOCATION_UNSAFE
from tests.conftest import REAL_CSV_DIR, ROOT, run_cli

PARAMS = PatchParams(size=48, lesion_margin=0.0, background_size=48, background_per_image=2)
EMPTY_FULL = "empty SeriesDescription recovered (full)"
CONTRADICTS = "SeriesDescription contradicts the file"


# --- helpers -------------------------------------------------------------------------


def _copy(tree: Path, tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "tree"
    shutil.copytree(tree, root)
    return root, json.loads((root / "fixture-truth.json").read_text())


def _dataset(root: Path, tmp_path: Path) -> CbisDdsm:
    return CbisDdsm({"root": str(root)}, cache_dir=tmp_path / "cache")


def _prepare(root: Path, tmp_path: Path) -> PatchSet:
    ds = _dataset(root, tmp_path)
    patches, _ = prepare(ds, ds.catalogue(), PARAMS, tmp_path / "cache", workers=1)
    return patches


def _events(audit: Audit, kind: str) -> list[dict[str, str]]:
    return [e for e in audit.events if e["kind"] == kind]


def _balanced(patches: PatchSet, rows: int) -> None:
    """Every row read is resolved or skipped; every resolved lesion is accounted for."""
    case_rows = patches.audit.notes["case rows"]
    assert case_rows["read"] == rows == case_rows["resolved"] + case_rows["skipped"]
    ledger = patches.audit.notes["lesion ledger"]
    assert ledger["lesions"] == case_rows["resolved"] == ledger["patches"] + ledger["not a class"] + ledger["dropped"]


def _plain_lesions(truth: dict) -> list[dict]:
    """Lesions with a class, alone on their mammogram, with no planted quirk."""
    per_image = Counter(lesion["series_uid"] for lesion in truth["lesions"])
    return [les for les in truth["lesions"] if les["class"] and not les["quirks"] and per_image[les["series_uid"]] == 1]


def _case_csv(root: Path, lesion: dict) -> Path:
    folder = root / "csv" if (root / "jpeg").is_dir() else root
    return folder / CSV_NAMES[(lesion["lesion_type"], "Training" if lesion["split"] == "Training" else "Test")]


def _row_of(path: Path, lesion: dict) -> Row:
    """The row of a case CSV that describes ``lesion``."""
    found = read_rows(path)
    image, abnormality = found.header.index("image file path"), found.header.index("abnormality id")
    return next(
        r
        for r in found.rows
        if f"/{lesion['series_uid']}/" in r.cells[image] and r.cells[abnormality] == str(lesion["abnormality_id"])
    )


def _edit_line(path: Path, line: int, edit) -> None:
    """Rewrite physical line ``line`` (1-based) of ``path`` through ``edit`` (bytes -> bytes)."""
    lines = path.read_bytes().splitlines(keepends=True)
    lines[line - 1] = edit(lines[line - 1])
    path.write_bytes(b"".join(lines))


# --- 1. a malformed row of a case CSV costs that row ----------------------------------

MALFORMED = {
    "extra column": lambda line: line.replace(b",", b",an extra cell,", 1),
    "latin-1 byte": lambda line: line.replace(b",", "caf\u00e9,".encode("latin-1"), 1),
    "broken quote": lambda line: line.replace(b",BENIGN,", b',"BENIGN,', 1).replace(b",MALIGNANT,", b',"MALIGNANT,', 1),
    "fields missing": lambda line: line.split(b",", 5)[0] + b"\n",
}


@pytest.mark.parametrize("fault", sorted(MALFORMED))
def test_a_malformed_case_row_costs_exactly_that_row(fault: str, small_tree: Path, tmp_path: Path) -> None:
    root, truth = _copy(small_tree, tmp_path)
    lesion = _plain_lesions(truth)[0]
    path = _case_csv(root, lesion)
    row = _row_of(path, lesion)
    _edit_line(path, row.line, MALFORMED[fault])

    patches = _prepare(root, tmp_path)
    audit = patches.audit
    assert [e["where"] for e in _events(audit, ROW_MALFORMED)] == [f"{path.name} row {row.number}"]
    assert audit.effects[ROW_MALFORMED] == "dropped"
    rows = len(truth["lesions"])
    assert audit.notes["case rows"] == {"read": rows, "resolved": rows - 1, "skipped": 1}
    assert audit.counts["case rows read"] == rows
    _balanced(patches, rows)


def test_an_unclosed_quote_does_not_swallow_the_rows_after_it(small_tree: Path, tmp_path: Path) -> None:
    """Without quoted path cells (a CSV re-saved by a spreadsheet) an opening quote runs
    to the end of the file: only its own row is lost, the rows after it are read."""
    root, truth = _copy(small_tree, tmp_path)
    lesion = _plain_lesions(truth)[0]
    path = _case_csv(root, lesion)
    with open(path, newline="", encoding="utf-8") as fh:
        table = [[cell.strip() for cell in row] for row in csv.reader(fh)]
    flat = io.StringIO()
    csv.writer(flat, lineterminator="\n").writerows(table)
    assert '"' not in flat.getvalue() and len(table) > 4
    path.write_text(flat.getvalue())
    row = _row_of(path, lesion)
    assert row.number < len(table) - 2, "the broken row must have rows after it"
    _edit_line(path, row.line, lambda line: line.replace(b",", b',"', 1))

    patches = _prepare(root, tmp_path)
    (event,) = _events(patches.audit, ROW_MALFORMED)
    assert event["where"] == f"{path.name} row {row.number}"
    assert event["detail"].startswith(f"line {row.line}:") and "quote" in event["detail"]
    rows = len(truth["lesions"])
    assert patches.audit.notes["case rows"] == {"read": rows, "resolved": rows - 1, "skipped": 1}
    _balanced(patches, rows)


def test_malformed_rows_in_the_real_csvs_cost_only_themselves(tmp_path: Path) -> None:
    """The release's own format (CRLF rows, LF inside quoted path cells): an extra cell
    and a Latin-1 byte cost two rows of 326; the other rows keep their numbers."""
    for name in ("calc_case_description_test_set.csv", "mass_case_description_test_set.csv"):
        shutil.copy(REAL_CSV_DIR / name, tmp_path / name)
    path = tmp_path / "calc_case_description_test_set.csv"
    rows = read_rows(path).rows
    _edit_line(path, rows[99].line, MALFORMED["extra column"])
    _edit_line(path, rows[199].line, MALFORMED["latin-1 byte"])

    audit = Audit()
    table = read_case_tables(tmp_path, audit)
    assert audit.notes["rows per file"] == {
        "calc_case_description_test_set.csv": 326,
        "mass_case_description_test_set.csv": 378,
    }
    assert len(table) == 326 - 2 + 378
    events = _events(audit, ROW_MALFORMED)
    assert [e["where"] for e in events] == [f"{path.name} row 100", f"{path.name} row 200"]
    assert "15 fields, the header has 14" in events[0]["detail"] and "not UTF-8" in events[1]["detail"]
    calc = table[table["source_file"] == path.name]
    assert sorted(calc["source_row"]) == [n for n in range(1, 327) if n not in (100, 200)]
    assert not calc["cropped_image_file_path"].str.contains("\n").any()


# --- 2. path components from a CSV never lead outside the tree -------------------------


@pytest.mark.parametrize("part", ["..", ".", "", "/etc", "C:", "a\\b", "x\0y"])
def test_unsafe_path_components_are_refused(part: str) -> None:
    assert unsafe_part(part) is not None
    assert unsafe_part("1.3.6.1.4.1.9590.100.1.2.1234") is None and unsafe_part("000000.dcm") is None


@pytest.mark.parametrize("location", ["/tmp/elsewhere", "C:\\data\\x", "..\\outside", "./CBIS-DDSM/../../x", ""])
def test_unsafe_metadata_locations_are_refused(location: str) -> None:
    assert unsafe_location(location) is not None
    assert unsafe_location(".\\CBIS-DDSM\\Calc-Test_P_1\\07-20-2016-DDSM-1\\1.000000-full-1") is None


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every series folder the resolver lists and every header it reads, recorded."""
    seen: list[Path] = []
    real_read_header, real_files = resolve.read_header, SeriesFiles.__call__

    def read_header(path: Path):
        seen.append(Path(path))
        return real_read_header(path)

    def files(self: SeriesFiles, folder: Path | None) -> list[Path]:
        if folder is not None:
            seen.append(folder)
        return real_files(self, folder)

    monkeypatch.setattr(resolve, "read_header", read_header)
    monkeypatch.setattr(SeriesFiles, "__call__", files)
    return seen


def _outside(seen: list[Path], root: Path) -> list[Path]:
    base = os.path.normpath(root)
    return [p for p in seen if not Path(os.path.normpath(p)).is_relative_to(base)]


def test_dot_dot_and_dot_series_uids_are_refused_and_counted(
    small_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, truth = _copy(small_tree, tmp_path)
    first, second = _plain_lesions(truth)[:2]
    decoy = root / "decoy.jpg"  # what jpeg/.. would list
    shutil.copy(next((root / "jpeg" / first["series_uid"]).glob("*.jpg")), decoy)
    for lesion, bad in ((first, ".."), (second, ".")):
        path = _case_csv(root, lesion)
        row = _row_of(path, lesion)
        uid, to = lesion["series_uid"].encode(), bad.encode()
        _edit_line(path, row.line, lambda line, uid=uid, to=to: line.replace(uid, to, 1))
    seen = _recording(monkeypatch)

    catalogue = _dataset(root, tmp_path).catalogue()
    events = _events(catalogue.audit, UNSAFE_CELL)
    assert sorted(e["detail"] for e in events) == ["'.' is not a name", "'..' is not a name"]
    assert catalogue.audit.effects[UNSAFE_CELL] == "dropped"
    rows = len(truth["lesions"])
    assert catalogue.audit.notes["case rows"] == {"read": rows, "resolved": rows - 2, "skipped": 2}
    assert decoy not in seen and root not in seen and (root / "jpeg") not in seen
    assert _outside(seen, root / "jpeg") == []


def test_metadata_locations_outside_the_tree_are_refused(
    layout_trees: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An absolute ``File Location`` and one climbing out with ``..`` point at copies of
    real series outside the tree: neither is read; the series are found in the tree."""
    root, truth = _copy(layout_trees["tcia-descriptive"], tmp_path)
    metadata = root / "metadata.csv"
    with open(metadata, newline="") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0])
    outside = tmp_path / "outside"  # the tree is tmp_path / "tree": "..\\outside" is beside it
    for index, (location, copy) in enumerate(
        [(str(outside / "absolute"), outside / "absolute"), ("..\\outside\\climbed", outside / "climbed")]
    ):
        shutil.copytree(root.joinpath(*Path(rows[index]["File Location"].replace("\\", "/")).parts), copy)
        rows[index]["File Location"] = location
    with open(metadata, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    seen = _recording(monkeypatch)

    ds = _dataset(root, tmp_path)
    catalogue = ds.catalogue()
    patches, _ = prepare(ds, catalogue, PARAMS, tmp_path / "cache", workers=1)
    events = _events(patches.audit, LOCATION_UNSAFE)
    assert [e["detail"].split(":")[0] for e in events] == [
        f"series {rows[0]['Series UID']}",
        f"series {rows[1]['Series UID']}",
    ]
    assert "is absolute" in events[0]["detail"] and "'..'" in events[1]["detail"]
    assert seen and _outside(seen, root) == []
    assert all(Path(r.image_path).is_relative_to(root) for r in catalogue.records)
    assert patches.audit.counts["series matched by folder name (not in metadata.csv)"] == 2
    _balanced(patches, len(truth["lesions"]))
    assert patches.audit.notes["case rows"]["skipped"] == 0


def test_a_symlinked_root_and_a_symlinked_jpeg_folder_still_work(small_tree: Path, tmp_path: Path) -> None:
    """Containment is checked on the path a CSV builds, not on where links lead: a tree
    reached through a link, or with its images on another disk, reads in full."""
    link = tmp_path / "link"
    link.symlink_to(small_tree, target_is_directory=True)
    rows = len(json.loads((small_tree / "fixture-truth.json").read_text())["lesions"])
    assert _dataset(link, tmp_path / "a").catalogue().audit.notes["case rows"]["resolved"] == rows
    root = tmp_path / "tree"
    shutil.copytree(small_tree / "csv", root / "csv")
    (root / "jpeg").symlink_to(small_tree / "jpeg", target_is_directory=True)
    assert _dataset(root, tmp_path / "b").catalogue().audit.notes["case rows"]["resolved"] == rows


# --- 3. an empty SeriesDescription is counted once per file ----------------------------


def test_description_faults_are_counted_once_per_file(small_tree: Path, tmp_path: Path) -> None:
    root, truth = _copy(small_tree, tmp_path)
    lesions = Counter(lesion["series_uid"] for lesion in truth["lesions"])
    empty, contradicting = [uid for uid, n in lesions.items() if n == 2][:2]
    info = root / "csv" / "dicom_info.csv"
    with open(info, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        if row["SeriesDescription"] == "full mammogram images":
            if f"/{empty}/" in row["image_path"]:
                row["SeriesDescription"] = ""
            elif f"/{contradicting}/" in row["image_path"]:
                row["SeriesDescription"] = "ROI mask images"
    with open(info, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    audit = _dataset(root, tmp_path).catalogue().audit
    assert audit.counts[EMPTY_FULL] == truth["quirks"]["full-description-empty"] + 1
    assert [e["where"].split("/")[1] for e in _events(audit, EMPTY_FULL)].count(empty) == 1
    assert audit.counts[CONTRADICTS] == 1
    assert _events(audit, CONTRADICTS)[0]["where"].split("/")[1] == contradicting


# --- 4. a corrupt mammogram is unreadable, not missing ---------------------------------


def test_corrupt_mammogram_is_reported_unreadable_and_a_missing_one_missing(
    layout_trees: dict[str, Path], tmp_path: Path
) -> None:
    root, truth = _copy(layout_trees["tcia-classic"], tmp_path)
    corrupt, missing = _plain_lesions(truth)[:2]
    corrupt_file = next(root.glob(f"CBIS-DDSM/{corrupt['subject']}/*/{corrupt['series_uid']}/*.dcm"))
    corrupt_file.write_bytes(b"DICM" * 100)
    shutil.rmtree(next(root.glob(f"CBIS-DDSM/{missing['subject']}/*/{missing['series_uid']}")))

    patches = _prepare(root, tmp_path)
    (unreadable,) = _events(patches.audit, FULL_UNREADABLE)
    assert unreadable["detail"] == str(corrupt_file) and patches.audit.effects[FULL_UNREADABLE] == "dropped"
    (gone,) = _events(patches.audit, FULL_MISSING)
    assert missing["series_uid"] in gone["detail"]
    rows = len(truth["lesions"])
    assert patches.audit.notes["case rows"] == {"read": rows, "resolved": rows - 2, "skipped": 2}
    _balanced(patches, rows)


# --- 5. `fixture DIR` replaces only a tree it wrote ------------------------------------

SMALL = FixtureConfig(seed=1, images=6)


def _partials(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".partial" in p.name]


def test_fixture_replaces_its_own_tree_and_fills_an_empty_folder(tmp_path: Path) -> None:
    target = tmp_path / "fx"
    target.mkdir()
    generate_tree(target, SMALL, workers=1)
    generate_tree(target, FixtureConfig(seed=2, images=6), workers=1)
    assert json.loads((target / "fixture-truth.json").read_text())["config"]["seed"] == 2
    assert _partials(tmp_path) == []


@pytest.mark.parametrize(
    "case", ["not a fixture", "a file", "the current folder", "holds the current folder", "holds home"]
)
def test_generate_tree_refuses_what_it_did_not_write(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    keep = target / "thesis.tex"
    keep.write_text("months of work")
    if case == "a file":
        target, keep = keep, keep
    elif case == "the current folder":
        monkeypatch.chdir(target)
        target = Path(".")
    elif case == "holds the current folder":
        (target / "sub").mkdir()
        monkeypatch.chdir(target / "sub")
        (target / "fixture-truth.json").write_text("{}")  # even a fixture tree: the user is inside it
    elif case == "holds home":
        (target / "fixture-truth.json").write_text("{}")
        monkeypatch.setenv("HOME", str(target / "me"))
    with pytest.raises(UserError) as error:
        generate_tree(target, SMALL, workers=1)
    assert str(target) in error.value.message
    assert keep.read_text() == "months of work"
    assert _partials(tmp_path) == []


@pytest.mark.parametrize(
    "case, message", [("folder", "not a fixture tree"), ("file", "is a file"), (".", "is the current folder")]
)
def test_fixture_command_refuses_with_exit_2(case: str, message: str, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    target = {"folder": str(folder), "file": str(folder / "notes.txt"), ".": "."}[case]
    result = run_cli(
        "fixture", target, "--images", "6", cwd=folder if case == "." else tmp_path, env={"PYTHONPATH": str(ROOT)}
    )
    assert result.code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert (folder / "notes.txt").read_text() == "keep me"


def test_a_failed_write_leaves_the_previous_tree_and_no_partial_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = generate_tree(tmp_path / "fx", SMALL, workers=1)
    before = (target / "fixture-truth.json").read_text()
    temporaries: list[str] = []

    def failing(tmp: Path, *args: object) -> None:
        temporaries.append(tmp.name)
        (tmp / "half").write_text("written before the failure")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fixture_generate, "_write", failing)
    for _ in range(2):
        with pytest.raises(UserError, match="writing the fixture tree failed: No space left on device"):
            generate_tree(target, SMALL, workers=1)
    assert (target / "fixture-truth.json").read_text() == before
    assert _partials(tmp_path) == []
    assert temporaries[0] != temporaries[1] and all(t.startswith("fx.partial-") for t in temporaries)


def test_a_class_with_no_training_or_test_patch_is_said_at_run_time() -> None:
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd

    from benchmark.run.data import data_warnings

    labels = np.array([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 2])  # class 1 and 3 never in train, 4 never in test
    split = np.array(["test", "val", "train", "val", "train", "train", "test", "test", "test", "val", "train", "val"])
    patches = SimpleNamespace(table=pd.DataFrame({"label": labels}), audit=Audit())
    warnings = data_warnings(patches, split, fraction=float((split == "val").sum() / 9))
    assert any(w.startswith("no train patch of class benign_calcification, malignant_calcification:") for w in warnings)
    assert any(w.startswith("no test patch of class malignant_mass:") for w in warnings), warnings
    everywhere = np.array(
        ["train", "train", "train", "train", "train", "test", "test", "test", "test", "test", "val", "val"]
    )
    assert not [w for w in data_warnings(patches, everywhere, fraction=2 / 12) if w.startswith("no ")]
