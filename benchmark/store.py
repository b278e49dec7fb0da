"""The run store: one folder per run, holding its JSON result, training checkpoint and
the small arrays its report draws (``<name>.npz``, e.g. the saliency gallery).

Results and arrays are written atomically (temporary file, then rename): a killed run
never leaves a half-written file that a later report would read. Arrays are written
before the result, which marks a run as done. A result counts as done only for the data
it was computed on (its ``data.hash``). A run being computed is locked
(``<run id>.lock`` beside its folder): a second process never computes it at the same
time. A run whose evaluation failed keeps its checkpoint and an ``error.json`` saying why.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from benchmark.files import atomic_write, atomic_write_json, lock, lock_path, try_lock

RESULT = "result.json"
CHECKPOINT = "checkpoint.pt"
ERROR = "error.json"


def array_file_name(name: str) -> str:
    """A file name for an array set named by a plugin (``gallery-gradcam++`` is fine)."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name) + ".npz"


class RunStore:
    """Runs of one spec under ``<root>/<spec name>/<run id>/``."""

    def __init__(self, root: Path, spec_name: str) -> None:
        self.folder = Path(root) / spec_name

    def run_folder(self, run_id: str) -> Path:
        return self.folder / run_id

    def checkpoint_path(self, run_id: str) -> Path:
        return self.run_folder(run_id) / CHECKPOINT

    def load(self, run_id: str) -> dict[str, Any] | None:
        path = self.run_folder(run_id) / RESULT
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def lock_path(self, run_id: str) -> Path:
        return lock_path(self.run_folder(run_id))

    def try_lock(self, run_id: str) -> Any | None:
        """The run's lock if no other process holds it (release it with ``.release()``)."""
        return try_lock(self.run_folder(run_id))

    def wait_lock(self, run_id: str) -> Any:
        """Wait for the run's lock (a context manager)."""
        return lock(self.run_folder(run_id))

    def save_error(self, run_id: str, stage: str, message: str) -> Path:
        return atomic_write_json(self.run_folder(run_id) / ERROR, {"stage": stage, "message": message})

    def load_error(self, run_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.run_folder(run_id) / ERROR).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def is_done(self, run_id: str, data_hash: str) -> bool:
        result = self.load(run_id)
        return result is not None and result.get("data", {}).get("hash") == data_hash

    def save(self, run_id: str, result: dict[str, Any]) -> Path:
        path = self.run_folder(run_id) / RESULT
        atomic_write_json(path, result)
        for done_with in (self.checkpoint_path(run_id), self.run_folder(run_id) / ERROR):
            if done_with.exists():  # finished: the resume point and any earlier failure are history
                done_with.unlink()
        return path

    def save_arrays(self, run_id: str, name: str, arrays: Mapping[str, np.ndarray]) -> Path:
        path = self.run_folder(run_id) / array_file_name(name)
        atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
        return path

    def load_arrays(self, run_id: str, name: str) -> dict[str, np.ndarray] | None:
        path = self.run_folder(run_id) / array_file_name(name)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (FileNotFoundError, ValueError, OSError):
            return None
