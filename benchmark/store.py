"""The run store: one folder per run, holding its JSON result, training checkpoint and
the small arrays its report draws (``<name>.npz``, e.g. the saliency gallery).

Results and arrays are written atomically (temporary file, then rename): a killed run
never leaves a half-written file that a later report would read. Arrays are written
before the result, which marks a run as done. A result counts as done only for the data
it was computed on (its ``data.hash``).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

RESULT = "result.json"
CHECKPOINT = "checkpoint.pt"


def write_json_atomic(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_npz_atomic(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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

    def is_done(self, run_id: str, data_hash: str) -> bool:
        result = self.load(run_id)
        return result is not None and result.get("data", {}).get("hash") == data_hash

    def save(self, run_id: str, result: dict[str, Any]) -> Path:
        path = self.run_folder(run_id) / RESULT
        write_json_atomic(path, result)
        ckpt = self.checkpoint_path(run_id)
        if ckpt.exists():  # finished: the resume point is no longer needed
            ckpt.unlink()
        return path

    def save_arrays(self, run_id: str, name: str, arrays: Mapping[str, np.ndarray]) -> Path:
        path = self.run_folder(run_id) / array_file_name(name)
        write_npz_atomic(path, arrays)
        return path

    def load_arrays(self, run_id: str, name: str) -> dict[str, np.ndarray] | None:
        path = self.run_folder(run_id) / array_file_name(name)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (FileNotFoundError, ValueError, OSError):
            return None

    def results(self) -> Iterator[dict[str, Any]]:
        if not self.folder.is_dir():
            return
        for sub in sorted(self.folder.iterdir()):
            result = self.load(sub.name) if sub.is_dir() else None
            if result is not None:
                yield result
