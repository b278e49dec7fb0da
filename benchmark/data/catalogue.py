"""What a dataset plugin finds in a tree: mammograms, their lesions and mask files.

The core decodes and crops from this; the plugin never touches pixels beyond what it
needs to decide a file's role.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmark.data.audit import Audit


@dataclass(frozen=True)
class Lesion:
    """One abnormality (one CSV row) with a resolved mask file."""

    abnormality_id: str
    lesion_type: str
    pathology: str
    class_name: str | None  # None: not a class (BENIGN_WITHOUT_CALLBACK)
    mask_path: str
    row: str  # "file.csv row N", for messages


@dataclass(frozen=True)
class ImageRecord:
    """One full mammogram and every lesion resolved on it."""

    image_id: str
    image_path: str
    split: str  # "train" | "test" (the official split)
    patient_id: str
    lesions: tuple[Lesion, ...]
    background_source: bool  # a BENIGN_WITHOUT_CALLBACK image: background patches come from here
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Catalogue:
    records: list[ImageRecord]
    audit: Audit = field(default_factory=Audit)
    source: str = ""

    def fingerprint(self) -> str:
        """Identifies the source data: paths, labels, splits and each file's size and mtime."""
        h = hashlib.sha256()
        for rec in sorted(self.records, key=lambda r: r.image_id):
            payload = {k: v for k, v in asdict(rec).items() if k != "meta"}
            h.update(json.dumps(payload, sort_keys=True).encode())
            for path in [rec.image_path, *(lesion.mask_path for lesion in rec.lesions)]:
                try:
                    st = os.stat(path)
                    h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
                except OSError:
                    h.update(b"missing")
        return h.hexdigest()[:16]

    def relative(self, path: str | Path) -> str:
        try:
            return str(Path(path).relative_to(self.source))
        except ValueError:
            return str(path)
