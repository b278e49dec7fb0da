"""From a generated tree to patches: boxes match the drawn truth, background windows
avoid every lesion, the cache hits, the number of workers does not matter. (Every
layout and quirk: test_readers.py; bad input: test_bad_input.py.)"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from benchmark.data.preparation import prepare
from benchmark.spec.schema import PatchParams
from plugins.datasets.cbis_ddsm import CbisDdsm

PARAMS = PatchParams(size=48, lesion_margin=0.0, background_size=48, background_per_image=2)


def _dataset(root: Path, tmp_path: Path) -> CbisDdsm:
    return CbisDdsm({"root": str(root)}, cache_dir=tmp_path / "cache")


def _truth(root: Path) -> dict:
    return json.loads((root / "fixture-truth.json").read_text())


def test_patches_match_the_truth(small_tree: Path, tmp_path: Path) -> None:
    truth = _truth(small_tree)
    ds = _dataset(small_tree, tmp_path)
    patches, hit = prepare(ds, ds.catalogue(), PARAMS, tmp_path / "cache", workers=2)
    assert not hit
    audit = patches.audit.counts
    assert audit["mask size mismatch: resized"] == truth["quirks"]["mask-size-mismatch"]
    assert audit["mask size mismatch: dropped (aspect ratio differs)"] == truth["quirks"]["mask-aspect-mismatch"]
    kept = [les for les in truth["lesions"] if les["class"] and "mask-aspect-mismatch" not in les["quirks"]]
    lesion_rows = patches.table[patches.table["has_mask"]]
    assert Counter(lesion_rows["class_name"]) == Counter(les["class"] for les in kept)
    assert audit["lesions not a class (BENIGN_WITHOUT_CALLBACK)"] == sum(
        les["pathology"] == "BENIGN_WITHOUT_CALLBACK" for les in truth["lesions"]
    )
    # boxes: the largest component of each (JPEG) mask equals the drawn lesion's box within a pixel
    by_key = {(les["series_uid"], f"{les['subject']}_{les['abnormality_id']}"): les for les in kept}
    for row in lesion_rows.itertuples():
        lesion = by_key[(row.image_id, row.abnormality_id)]
        box = np.array([row.box_y0, row.box_x0, row.box_y1, row.box_x1])
        if "mask-size-mismatch" in lesion["quirks"]:
            assert np.abs(box - lesion["box"]).max() <= 3
        else:
            assert np.abs(box - lesion["box"]).max() <= 1, (row, lesion)
    assert patches.images.shape == (len(patches.table), 48, 48) and patches.images.dtype == np.uint8
    assert patches.masks[patches.table["has_mask"].to_numpy()].any(axis=(1, 2)).all()
    assert not patches.masks[~patches.table["has_mask"].to_numpy()].any()


def test_background_windows_avoid_every_lesion(small_tree: Path, tmp_path: Path) -> None:
    truth = _truth(small_tree)
    ds = _dataset(small_tree, tmp_path)
    patches, _ = prepare(ds, ds.catalogue(), PARAMS, tmp_path / "cache")
    background = patches.table[patches.table["class_name"] == "background"]
    assert len(background) > 0
    for row in background.itertuples():
        image_lesions = [les for les in truth["lesions"] if les["series_uid"] == row.image_id]
        assert any(les["pathology"] == "BENIGN_WITHOUT_CALLBACK" for les in image_lesions)
        for lesion in image_lesions:
            y0, x0, y1, x1 = lesion["box"]
            assert row.box_y1 <= y0 or row.box_y0 >= y1 or row.box_x1 <= x0 or row.box_x0 >= x1
    assert (patches.images[background.index.to_numpy()].min(axis=(1, 2)) > 0).all()  # inside the breast


def test_second_preparation_hits_the_cache_and_workers_do_not_matter(small_tree: Path, tmp_path: Path) -> None:
    ds = _dataset(small_tree, tmp_path)
    first, _ = prepare(ds, ds.catalogue(), PARAMS, tmp_path / "cache", workers=1)
    again, hit = prepare(ds, ds.catalogue(), PARAMS, tmp_path / "cache")
    assert hit and again.content_hash() == first.content_hash()
    parallel, hit = prepare(ds, ds.catalogue(), PARAMS, tmp_path / "other-cache", workers=2)
    assert not hit and parallel.content_hash() == first.content_hash()
    changed, hit = prepare(ds, ds.catalogue(), PARAMS.model_copy(update={"size": 32}), tmp_path / "cache")
    assert not hit and changed.images.shape[1:] == (32, 32)
    union, hit = prepare(ds, ds.catalogue(), PARAMS.model_copy(update={"lesion_box": "union"}), tmp_path / "cache")
    assert not hit and union.key != first.key


def test_a_short_write_of_the_patch_cache_is_a_full_disk_and_leaves_no_entry(
    small_tree: Path, tmp_path: Path, monkeypatch
) -> None:
    """Issue 24 (12): on a full disk np.save raises an OSError without an errno ("4096
    requested and 0 written"), which the CLI's storage-error handler did not recognise (a
    traceback); the cache raises it as ENOSPC, and no half-written entry is left."""
    import errno

    import pytest

    from benchmark.data import cache

    ds = CbisDdsm({"root": str(small_tree)}, cache_dir=tmp_path / "c")
    real_save = np.save

    def short_write(path, array, *args, **kwargs):
        if str(path).endswith("masks.npy"):
            raise OSError(f"{array.nbytes} requested and 0 written")
        return real_save(path, array, *args, **kwargs)

    monkeypatch.setattr(cache.np, "save", short_write)
    with pytest.raises(OSError) as raised:
        prepare(ds, ds.catalogue(), PatchParams(size=32, background_size=48), tmp_path / "cache")
    assert raised.value.errno == errno.ENOSPC and "No space left on device" in str(raised.value)
    assert not list((tmp_path / "cache" / "patches").glob("*/manifest.csv"))
    assert not [p for p in (tmp_path / "cache" / "patches").rglob("*") if ".partial" in p.name or p.suffix == ".tmp"]
