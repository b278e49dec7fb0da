"""The patch cache: one folder per (source data, preparation parameters), shared by every
run and spec that asks for the same thing.

Arrays are ``.npy`` files opened memory-mapped (one read, no decoding); the manifest is
a CSV and the audit a JSON. A folder is complete only once renamed into place, so a
preparation killed half-way never leaves a cache entry a later run would trust.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.data.audit import Audit
from benchmark.data.patchset import PatchSet
from benchmark.files import atomic_write_text, temporary_name, touch


def cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / "patches" / key


def load(cache_dir: Path, key: str) -> PatchSet | None:
    folder = cache_path(cache_dir, key)
    if not (folder / "manifest.csv").exists():
        return None
    images = np.load(folder / "images.npy", mmap_mode="r")
    masks = np.load(folder / "masks.npy", mmap_mode="r")
    table = pd.read_csv(folder / "manifest.csv", dtype={"patient_id": str, "image_id": str, "abnormality_id": str})
    audit = Audit.from_dict(json.loads((folder / "audit.json").read_text()))
    touch(folder)
    return PatchSet(images, masks, table, audit, key)


def derived(cache_dir: Path, key: str, name: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A JSON-able result derived from the patch set ``key`` alone (its validation split,
    say), kept in that entry so it is computed once; computed and not kept when the
    entry is not in the cache."""
    folder = cache_path(cache_dir, key)
    path = folder / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    value = compute()
    if (folder / "manifest.csv").exists():
        atomic_write_text(path, json.dumps(value))
    return value


def store(cache_dir: Path, patches: PatchSet) -> Path:
    final = cache_path(cache_dir, patches.key)
    tmp = temporary_name(final)
    tmp.mkdir(parents=True)
    try:
        np.save(tmp / "images.npy", np.ascontiguousarray(patches.images))
        np.save(tmp / "masks.npy", np.ascontiguousarray(patches.masks))
        (tmp / "audit.json").write_text(json.dumps(patches.audit.to_dict(), indent=1, sort_keys=True))
        patches.table.to_csv(tmp / "manifest.csv", index=False)  # written last: marks the entry complete
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
