"""Writing files so that no fault or second process can leave a wrong one: atomic writes
and file locks, written once for the whole harness.

* :func:`atomic_write` writes through a uniquely named temporary file in the target's
  folder, flushes and fsyncs it, then renames it into place: a reader sees the old file
  or the new one, never half of one; a killed process or a full disk leaves no partial
  file (the temporary one is removed on any error); two processes writing the same file
  never share a temporary name.
* :func:`lock` is an inter-process lock (the ``filelock`` package: ``flock`` on POSIX)
  on a ``<name>.lock`` file beside what it protects: a run directory, a cache entry, a
  generated tree. Locks on a network file system are only as good as its ``flock``.
"""

from __future__ import annotations

import contextvars
import json
import math
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

LOCK_SUFFIX = ".lock"


def temporary_name(path: Path) -> Path:
    """A unique hidden name beside ``path`` (same folder, so the rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(file)`` on a temporary file and rename it to ``path`` once complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has no such
    numbers; a diverged loss is recorded as missing rather than crash the write)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def atomic_write_json(path: str | Path, payload: Any, *, indent: int | None = 1) -> Path:
    text = json.dumps(finite(payload), indent=indent, sort_keys=True, allow_nan=False)
    return atomic_write_text(path, text + "\n")


#: the cache entries touched while a spec's data are prepared (see :func:`recording_uses`)
_USED: contextvars.ContextVar[set[Path] | None] = contextvars.ContextVar("used", default=None)


def touch(path: str | Path) -> None:
    """Mark a cache entry as used now (its modification time): ``cbis-bench runs --prune``
    keeps what was used recently, and what a named spec's data were prepared from
    (:func:`recording_uses`). A read-only cache is left as it is."""
    used = _USED.get()
    if used is not None:
        used.add(Path(path).resolve())
    try:
        os.utime(path)
    except OSError:
        pass


@contextmanager
def recording_uses() -> Iterator[set[Path]]:
    """The set of cache entries :func:`touch` marks inside the block (the catalogue, the
    generated tree, the patch set a spec's data come from): kept beside the spec's runs so
    that pruning keeps them whatever their age."""
    used: set[Path] = set()
    token = _USED.set(used)
    try:
        yield used
    finally:
        _USED.reset(token)


def lock_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + LOCK_SUFFIX)


@contextmanager
def lock(path: str | Path, timeout: float = -1) -> Iterator[None]:
    """Hold the inter-process lock of ``path`` (blocking; ``timeout`` seconds at most,
    then :class:`filelock.Timeout`)."""
    from filelock import FileLock

    target = lock_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target), timeout=timeout):
        yield


def try_lock(path: str | Path) -> Any | None:
    """The lock of ``path`` if no other process holds it, else None. Release it with
    ``.release()``."""
    from filelock import FileLock, Timeout

    target = lock_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    held = FileLock(str(target), timeout=0)
    try:
        held.acquire()
    except Timeout:
        return None
    return held
