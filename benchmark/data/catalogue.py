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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageRecord:
        return cls(**{**data, "lesions": tuple(Lesion(**lesion) for lesion in data["lesions"])})


@dataclass
class Catalogue:
    """``reader``: whatever the plugin's pixel decoding depends on (e.g. a 16- to 8-bit
    rule), so patches decoded another way never share a cache entry. ``source_digest``:
    a digest of every source file's path, size and modification time, when the plugin
    has one (it then stands in for stat-ing each file again)."""

    records: list[ImageRecord]
    audit: Audit = field(default_factory=Audit)
    source: str = ""
    reader: dict[str, Any] = field(default_factory=dict)
    source_digest: str = ""
    _fingerprint: str = field(default="", repr=False)

    def fingerprint(self) -> str:
        """Identifies the source data: paths, labels, splits, each file's size and mtime,
        and how pixels are decoded."""
        if not self._fingerprint:
            h = hashlib.sha256(
                json.dumps({"reader": self.reader, "source": self.source_digest}, sort_keys=True).encode()
            )
            for rec in sorted(self.records, key=lambda r: r.image_id):
                payload = {k: v for k, v in asdict(rec).items() if k != "meta"}
                h.update(json.dumps(payload, sort_keys=True).encode())
                if not self.source_digest:
                    for path in [rec.image_path, *(lesion.mask_path for lesion in rec.lesions)]:
                        h.update(_stat_signature(path))
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def relative(self, path: str | Path) -> str:
        try:
            return str(Path(path).relative_to(self.source))
        except ValueError:
            return str(path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": [asdict(r) for r in self.records],
            "audit": self.audit.to_dict(),
            "source": self.source,
            "reader": self.reader,
            "source_digest": self.source_digest,
            "fingerprint": self.fingerprint(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Catalogue:
        return cls(
            [ImageRecord.from_dict(r) for r in data["records"]],
            Audit.from_dict(data["audit"]),
            data["source"],
            data["reader"],
            data["source_digest"],
            data.get("fingerprint", ""),
        )


def _stat_signature(path: str) -> bytes:
    try:
        st = os.stat(path)
        return f"{st.st_size}:{st.st_mtime_ns}".encode()
    except OSError:
        return b"missing"
