"""The run store: one folder per run, holding its JSON result and training checkpoint.

Results are written atomically (temporary file, then rename): a killed run never
leaves a half-written result that a later report would read. A result counts as done
only for the data it was computed on (its ``data.hash``).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterator

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

    def results(self) -> Iterator[dict[str, Any]]:
        if not self.folder.is_dir():
            return
        for sub in sorted(self.folder.iterdir()):
            result = self.load(sub.name) if sub.is_dir() else None
            if result is not None:
                yield result
