"""Catalogues kept between preparations, keyed by what a plugin says determines them
(typically its options, its code version and :func:`source_digest.digest_paths` of the
tree): a second preparation of an unchanged tree skips reading CSVs and file headers.

Entries are written to a temporary file and renamed into place, so an interrupted write
never leaves a catalogue a later run would trust; an entry that cannot be read is
rebuilt.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Callable

from benchmark.data.catalogue import Catalogue


def catalogue_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / "catalogues" / f"{key}.json"


def cached_catalogue(cache_dir: Path, key: str, build: Callable[[], Catalogue]) -> tuple[Catalogue, bool]:
    """The catalogue stored under ``key``, else ``build()`` stored there. Returns
    ``(catalogue, cache_hit)``. Catalogues without a record are not stored (the tree is
    likely being fixed)."""
    path = catalogue_path(cache_dir, key)
    try:
        return Catalogue.from_dict(json.loads(path.read_text(encoding="utf-8"))), True
    except (OSError, ValueError, KeyError, TypeError):
        pass
    catalogue = build()
    if catalogue.records:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(json.dumps(catalogue.to_dict(), separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)
    return catalogue, False
