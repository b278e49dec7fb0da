"""A digest of a data tree's listing: every file's path, size and modification time.

Cheap (no file is opened) and enough to notice a file added, removed, replaced or
rewritten, so it keys the catalogue cache: a second preparation of an unchanged tree
need not read a single CSV or image header. Names starting with a dot are skipped (a
cache or run store kept inside the tree must not change its digest); a folder that
cannot be listed enters the digest as such, and the reader reports it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path


def _walk(folder: str, h: hashlib._Hash) -> None:
    try:
        with os.scandir(folder) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as exc:
        h.update(f"{folder}\0unlistable\0{exc.errno}\n".encode())
        return
    for entry in entries:
        try:
            if entry.is_dir():
                _walk(entry.path, h)
                continue
            st = entry.stat()
            h.update(f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError as exc:
            h.update(f"{entry.path}\0unreadable\0{exc.errno}\n".encode())


def digest_paths(paths: Iterable[Path]) -> str:
    """Digest of the given files and of every file below the given folders."""
    h = hashlib.sha256()
    for path in sorted({Path(p) for p in paths}):
        if path.is_dir():
            _walk(str(path), h)
        else:
            try:
                st = path.stat()
                h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            except OSError:
                h.update(f"{path}\0missing\n".encode())
    return h.hexdigest()[:16]
