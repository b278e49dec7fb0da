"""The run store: one folder per run, holding its typed result (``result.json``), the
small arrays its report draws (``<name>.npz``, e.g. the saliency gallery) and, after a
failure, ``error.json``; and, shared by every spec in the home, the trained weights of
each training key (``trained/<key>.pt``: the checkpoint while training, the trained
model once done).

Everything is written atomically (``benchmark/files.py``): a killed run never leaves a
half-written file that a later report would read. Arrays are written before the result,
which marks a run as done. A result counts as done only for the data it was computed
on (its ``data.hash``). A run being computed is locked (``<run id>.lock`` beside its
folder), and so is a training key being trained: a second process never computes either
at the same time.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.files import atomic_write, atomic_write_json, lock, lock_path, try_lock
from benchmark.run.result import ResultError, RunResult, read_result

RESULT = "result.json"
ERROR = "error.json"
TRAINED = "trained"


def array_file_name(name: str) -> str:
    """A file name for an array set named by a plugin (``gallery-gradcam++`` is fine)."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name) + ".npz"


class RunStore:
    """Runs of one spec under ``<root>/<spec name>/<run id>/``; trained weights under
    ``<root>/trained/``."""

    def __init__(self, root: Path, spec_name: str) -> None:
        self.root = Path(root)
        self.folder = self.root / spec_name

    def run_folder(self, run_id: str) -> Path:
        return self.folder / run_id

    def trained_path(self, training_key: str, data_hash: str) -> Path:
        """The trained weights (or the training checkpoint) of a training key on some data."""
        return self.root / TRAINED / f"{training_key}-{data_hash}.pt"

    # -- results --------------------------------------------------------------------
    def result_path(self, run_id: str) -> Path:
        return self.run_folder(run_id) / RESULT

    def load(self, run_id: str) -> RunResult | None:
        """The run's result; None when there is none; a message (``ResultError``) when the
        file is damaged or of another harness version."""
        path = self.result_path(run_id)
        if not path.exists():
            return None
        return read_result(path)

    def readable(self, run_id: str) -> RunResult | None:
        """The run's result; None when there is none or it cannot be read (damaged, or of
        another harness version: :meth:`damaged` says why)."""
        try:
            return self.load(run_id)
        except ResultError:
            return None

    def is_done(self, run_id: str, data_hash: str) -> bool:
        """Whether the run has a readable result on this data: a damaged result (or one of
        another harness version) is not done, so the run is evaluated again from its kept
        weights and the damage costs that run's evaluation only."""
        result = self.readable(run_id)
        return result is not None and result.data.hash == data_hash

    def uses_path(self, data_hash: str) -> Path:
        """Where the cache entries (catalogue, generated tree, patch set) one patch set of
        the spec was prepared from are listed: ``runs --prune`` keeps them for a named spec
        whatever their age."""
        return self.folder / f"uses-{data_hash}.json"

    def uses(self, data_hash: str) -> set[Path]:
        try:
            return {Path(p) for p in json.loads(self.uses_path(data_hash).read_text())["cache"]}
        except (OSError, ValueError, KeyError, TypeError):
            return set()

    def damaged(self, run_id: str) -> str | None:
        """Why the run's stored result cannot be read (None: it can, or there is none)."""
        try:
            self.load(run_id)
        except ResultError as exc:
            return exc.message
        return None

    def save(self, result: RunResult) -> Path:
        path = atomic_write_json(self.result_path(result.run_id), result.to_json())
        error = self.run_folder(result.run_id) / ERROR
        if error.exists():  # finished: an earlier failure is history
            error.unlink()
        return path

    def forget(self, run_id: str) -> None:
        """Remove a run's result and arrays (``run --rerun``)."""
        shutil.rmtree(self.run_folder(run_id), ignore_errors=True)

    # -- arrays ---------------------------------------------------------------------
    def save_arrays(self, run_id: str, name: str, arrays: Mapping[str, np.ndarray]) -> Path:
        path = self.run_folder(run_id) / array_file_name(name)
        # numpy's stub types savez_compressed(**kwds) beside allow_pickle: bool, so mypy reads any
        # **mapping as possibly allow_pickle=<array>; every key here is an array's name
        return atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))  # type: ignore[arg-type]

    def load_arrays(self, run_id: str, name: str) -> dict[str, np.ndarray] | None:
        path = self.run_folder(run_id) / array_file_name(name)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (FileNotFoundError, ValueError, OSError):
            return None

    # -- failures -------------------------------------------------------------------
    def save_error(self, run_id: str, stage: str, message: str) -> Path:
        return atomic_write_json(self.run_folder(run_id) / ERROR, {"stage": stage, "message": message})

    def load_error(self, run_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.run_folder(run_id) / ERROR).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    # -- locks ----------------------------------------------------------------------
    def lock_path(self, run_id: str) -> Path:
        return lock_path(self.run_folder(run_id))

    def try_lock(self, run_id: str) -> Any | None:
        """The run's lock if no other process holds it (release it with ``.release()``)."""
        return try_lock(self.run_folder(run_id))

    def wait_lock(self, run_id: str) -> Any:
        """Wait for the run's lock (a context manager)."""
        return lock(self.run_folder(run_id))

    def training_lock(self, path: Path) -> Any:
        """Wait for the lock of a training key's weights (a context manager)."""
        return lock(path)
