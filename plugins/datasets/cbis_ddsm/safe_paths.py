"""Paths built from what a CSV says stay inside the tree they name.

A case CSV's path cell and ``metadata.csv``'s ``File Location`` become folders and files
to read. A value of ``..``, ``.``, an absolute path (``/x``, ``C:``, ``\\\\server``) or one
holding a NUL byte would read outside the tree, read the wrong folder, or crash the
reader; such values are refused (and counted by the caller), never followed.

The containment check is lexical (``..`` collapsed, symlinks not resolved) on purpose:
a CSV value can only add path components, so a lexical escape is the only one it can
cause, while a symlink inside the tree (``jpeg/`` on another disk, a symlinked root) is
the owner's choice and is followed.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath


def unsafe_part(part: str) -> str | None:
    """Why one path component from a CSV cannot be used as a file or folder name (None: it can)."""
    if part in ("", ".", ".."):
        return f"{part!r} is not a name"
    if "\0" in part:
        return f"{part!r} holds a NUL byte"
    if "/" in part or "\\" in part or PurePosixPath(part).is_absolute() or PureWindowsPath(part).anchor:
        return f"{part!r} is a path, not a name"
    return None


def unsafe_location(location: str) -> str | None:
    """Why a relative location (either separator) cannot be joined to its folder (None: it can)."""
    if "\0" in location:
        return "holds a NUL byte"
    posix, windows = PurePosixPath(location.replace("\\", "/")), PureWindowsPath(location)
    if posix.is_absolute() or windows.anchor:
        return "is absolute"
    if ".." in windows.parts:
        return "climbs out with '..'"
    if not windows.parts:
        return "names no folder"
    return None


def inside(base: Path, path: Path) -> bool:
    """Whether ``path`` lies inside ``base`` once ``.`` and ``..`` are collapsed (lexically)."""
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(base))  # abspath collapses ``..``
