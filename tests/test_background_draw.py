"""Background patches as the study drew them: a count per split, each window from a
background (BENIGN_WITHOUT_CALLBACK) image drawn at random, seeded, the draw in the audit."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmark.data.background_draw import allocate
from benchmark.data.catalogue import ImageRecord
from benchmark.data.preparation import prepare
from benchmark.report.audit_section import summary_lines
from benchmark.spec.schema import PatchParams
from plugins.datasets.cbis_ddsm import CbisDdsm


def _records(n_train: int, n_test: int) -> list[ImageRecord]:
    def record(i: int, split: str) -> ImageRecord:
        return ImageRecord(f"{split}{i:03d}", f"/x/{split}{i}.jpg", split, f"P{i}", (), True)

    return (
        [record(i, "train") for i in range(n_train)]
        + [record(i, "test") for i in range(n_test)]
        + [ImageRecord("lesion", "/x/l.jpg", "train", "P9", (), False)]
    )


def test_windows_are_dealt_over_as_many_images_as_possible() -> None:
    records = _records(30, 7)
    allocation = allocate(records, {"train": 64, "test": 31}, seed=0)
    train = [n for image, n in allocation.items() if image.startswith("train")]
    test = [n for image, n in allocation.items() if image.startswith("test")]
    assert sum(train) == 64 and sum(test) == 31 and "lesion" not in allocation
    assert len(train) == 30 and set(train) == {2, 3}  # every image twice, four of them a third time
    assert len(test) == 7 and set(test) == {4, 5}
    assert allocate(records, {"train": 64, "test": 31}, seed=0) == allocation
    fewer = allocate(records, {"train": 10}, seed=0)
    assert len(fewer) == 10 and set(fewer.values()) == {1}
    assert allocate(records, {"train": 10}, seed=1) != fewer  # the seed picks the images


def test_prepare_cuts_the_requested_count_and_audits_the_draw(small_tree: Path, tmp_path: Path) -> None:
    ds = CbisDdsm({"root": str(small_tree)}, cache_dir=tmp_path / "cache")
    catalogue = ds.catalogue()
    sources = Counter(r.split for r in catalogue.records if r.background_source)
    params = PatchParams(size=32, background_size=48, background_count={"train": 2 * sources["train"] + 1, "test": 3})
    patches, _ = prepare(ds, catalogue, params, tmp_path / "cache", workers=1)
    table = patches.table
    background = table[table["class_name"] == "background"]
    assert (background["split"] == "train").sum() == 2 * sources["train"] + 1
    draw = patches.audit.notes["background draw"]
    assert draw["train"]["images available"] == sources["train"] == draw["train"]["images cut from"]
    assert draw["test"]["images drawn"] == min(3, sources["test"])
    if sources["test"]:
        assert (background["split"] == "test").sum() == 3
    else:  # no background image in this tree's test split: the shortfall is named, not hidden
        assert (background["split"] == "test").sum() == 0
        short = [e for e in patches.audit.events if e["kind"] == "background windows short of background_count"]
        assert short == [{"kind": short[0]["kind"], "where": "test", "detail": "0 of 3"}]
    assert any(line.startswith("Background (48 x 48 windows") for line in summary_lines(patches.audit))
    again, _ = prepare(ds, catalogue, params, tmp_path / "other-cache", workers=2)
    assert again.table.equals(patches.table)  # seeded: the same windows whatever the number of workers


def test_spec_takes_one_background_rule() -> None:
    with pytest.raises(ValueError, match="not both"):
        PatchParams(background_per_image=2, background_count={"train": 644, "test": 310})
    assert PatchParams(background_count={"train": 644, "test": 310}).background_per_image == 2  # unused
