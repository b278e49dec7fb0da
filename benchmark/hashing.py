"""Stable hashes of plain data: the same payload gives the same hash in every process and
on every machine (keys sorted, no Python ``hash``), for run ids and cache keys."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(payload: Any, length: int = 12) -> str:
    """Hash of a JSON-able payload, independent of key order and of the Python process."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]
