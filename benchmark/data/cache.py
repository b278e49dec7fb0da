"""The patch cache: one folder per (source data, preparation parameters), shared by every
run and spec that asks for the same thing.

Arrays are ``.npy`` files opened memory-mapped (one read, no decoding); the manifest is
a CSV and the audit a JSON. A folder is complete only once renamed into place, so a
preparation killed half-way never leaves a cache entry a later run would trust.
"""

from __future__ import annotations

import errno
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


class DamagedEntry(Exception):
    """A cache entry that cannot be trusted: a file missing or unreadable, or content that
    no longer has the hash it was stored with (pixels changed in place)."""

    def __init__(self, folder: Path, why: str) -> None:
        super().__init__(f"{folder}: {why}")
        self.folder, self.why = folder, why


CONTENT = "content.json"  # the entry's content hash, written when it is stored


def load(cache_dir: Path, key: str) -> PatchSet | None:
    """The entry ``key`` (None when there is none), checked against the content hash it
    was stored with (raises :class:`DamagedEntry`). The hash is the one each run records
    as its data's identity, so the check costs nothing the run would not compute."""
    folder = cache_path(cache_dir, key)
    if not (folder / "manifest.csv").exists():
        return None
    try:
        images = np.load(folder / "images.npy", mmap_mode="r")
        masks = np.load(folder / "masks.npy", mmap_mode="r")
        table = pd.read_csv(folder / "manifest.csv", dtype={"patient_id": str, "image_id": str, "abnormality_id": str})
        audit = Audit.from_dict(json.loads((folder / "audit.json").read_text()))
        stored = json.loads((folder / CONTENT).read_text())["content_hash"] if (folder / CONTENT).exists() else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DamagedEntry(folder, f"unreadable ({type(exc).__name__}: {exc})") from None
    patches = PatchSet(images, masks, table, audit, key)
    if len(images) != len(table) or len(masks) != len(table):
        raise DamagedEntry(folder, f"{len(images)} images and {len(masks)} masks for {len(table)} manifest rows")
    if stored is not None and patches.content_hash() != stored:
        raise DamagedEntry(
            folder, f"its content hash is {patches.content_hash()}, stored as {stored} (changed in place)"
        )
    touch(folder)
    return patches


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


def _save(path: Path, array: np.ndarray) -> None:
    """``np.save``, whose short write on a full disk is an ``OSError`` without an errno
    ("N requested and M written"): raised as the ENOSPC it is, so the CLI says what a full
    disk needs instead of printing a traceback."""
    try:
        np.save(path, np.ascontiguousarray(array))
    except OSError as exc:
        if exc.errno is not None:
            raise
        raise OSError(errno.ENOSPC, f"No space left on device (a short write: {exc})", str(path)) from exc


def store(cache_dir: Path, patches: PatchSet) -> Path:
    final = cache_path(cache_dir, patches.key)
    tmp = temporary_name(final)
    tmp.mkdir(parents=True)
    try:
        _save(tmp / "images.npy", patches.images)
        _save(tmp / "masks.npy", patches.masks)
        (tmp / "audit.json").write_text(json.dumps(patches.audit.to_dict(), indent=1, sort_keys=True))
        (tmp / CONTENT).write_text(json.dumps({"content_hash": patches.content_hash()}))
        patches.table.to_csv(tmp / "manifest.csv", index=False)  # written last: marks the entry complete
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
