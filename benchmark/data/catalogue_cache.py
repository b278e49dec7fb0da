"""Catalogues kept between preparations, keyed by what a plugin says determines them
(typically its options, its code version and :func:`source_digest.digest_paths` of the
tree): a second preparation of an unchanged tree skips reading CSVs and file headers.

Entries are written to a temporary file and renamed into place, so an interrupted write
never leaves a catalogue a later run would trust; an entry that cannot be read is
rebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from benchmark.data.catalogue import Catalogue
from benchmark.files import atomic_write_text, lock, touch


def catalogue_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / "catalogues" / f"{key}.json"


def cached_catalogue(cache_dir: Path, key: str, build: Callable[[], Catalogue]) -> tuple[Catalogue, bool]:
    """The catalogue stored under ``key``, else ``build()`` stored there. Returns
    ``(catalogue, cache_hit)``. Catalogues without a record are not stored (the tree is
    likely being fixed)."""
    path = catalogue_path(cache_dir, key)
    if (found := _read(path)) is not None:
        return found, True
    with lock(path):  # a second process waits, then reads what the first wrote
        if (found := _read(path)) is not None:
            return found, True
        catalogue = build()
        if catalogue.records:
            atomic_write_text(path, json.dumps(catalogue.to_dict(), separators=(",", ":")))
            touch(path)
    return catalogue, False


def _read(path: Path) -> Catalogue | None:
    try:
        found = Catalogue.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    touch(path)
    return found
