"""CBIS-DDSM as released: the four case CSVs plus the images of one of three trees (the
Kaggle JPEG release, the TCIA DICOM release in its classic or its descriptive layout),
the layout detected from the tree.

The catalogue (which file is which mammogram, mask and crop) costs a read of every
file's header; it is kept in the cache, keyed by the tree's listing (every file's path,
size and modification time) and the options, so an unchanged tree is catalogued once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from benchmark.api import (
    Audit,
    Catalogue,
    UserError,
    cached_catalogue,
    digest_paths,
    stable_hash,
)
from plugins.datasets.cbis_ddsm.case_tables import CASE_FILES, read_case_tables
from plugins.datasets.cbis_ddsm.checks import audit_catalogue
from plugins.datasets.cbis_ddsm.headers import is_dicom
from plugins.datasets.cbis_ddsm.layout import (
    LAYOUTS,
    case_csv_dir,
    detect_layout,
    open_tree,
    source_paths,
)
from plugins.datasets.cbis_ddsm.pixels import (
    read_dicom_image,
    read_dicom_mask,
    read_jpeg,
)
from plugins.datasets.cbis_ddsm.resolve import Resolver

#: bump when the way rows are resolved changes: cached catalogues are then rebuilt
READER_VERSION = 3


class CbisDdsmOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = Field(description="the tree: Kaggle folder (csv/, jpeg/) or TCIA download (CBIS-DDSM/, metadata.csv)")
    layout: Literal["auto", "kaggle", "tcia-classic", "tcia-descriptive"] = "auto"
    csv_dir: str | None = Field(None, description="folder of the four case CSVs (default: looked for beside the tree)")
    dicom_intensity: Literal["bit-depth", "min-max"] = Field(
        "bit-depth", description="16- to 8-bit rule for DICOM images (docs/data-preparation.md)"
    )


class CbisDdsm:
    """CBIS-DDSM from a Kaggle JPEG tree or a TCIA DICOM tree (classic or descriptive)."""

    Options: ClassVar[type[BaseModel]] = CbisDdsmOptions

    def __init__(self, options: CbisDdsmOptions | dict, *, cache_dir: Path) -> None:
        self.options = options if isinstance(options, CbisDdsmOptions) else CbisDdsmOptions.model_validate(options)
        self.root = Path(os.path.expanduser(self.options.root))
        self.csv_dir = Path(os.path.expanduser(self.options.csv_dir)) if self.options.csv_dir else None
        self.cache_dir = cache_dir

    def layout(self) -> str:
        if not self.root.is_dir() or not any(self.root.iterdir()):
            in_docker = os.environ.get("CBIS_BENCH_IN_DOCKER") == "1"
            raise UserError(
                f"dataset.options.root: {self.root} is {'empty' if self.root.is_dir() else 'not a folder'}",
                hint=(
                    f"Mount your CBIS-DDSM tree there: docker run -v /path/to/CBIS-DDSM:{self.root} ..."
                    if in_docker
                    else "Point it at the CBIS-DDSM tree (set CBIS_DDSM_ROOT, or pass a spec whose "
                    "dataset.options.root names it)."
                ),
            )
        if self.options.layout != "auto":
            return self.options.layout
        layout = detect_layout(self.root)
        if layout is None:
            raise UserError(
                f"dataset.options.root: {self.root} does not look like a CBIS-DDSM tree",
                hint="Expected the Kaggle release (csv/ and jpeg/), or a TCIA download: CBIS-DDSM/<subject>/<study>/"
                "<series>/*.dcm (classic) or with metadata.csv (NBIA Data Retriever). "
                f"Set dataset.options.layout to one of {', '.join(LAYOUTS)} to skip detection.",
            )
        return layout

    def _reader(self, layout: str) -> dict[str, str]:
        """What decoding depends on (part of every cache key)."""
        return {} if layout == "kaggle" else {"dicom_intensity": self.options.dicom_intensity}

    def catalogue(self) -> Catalogue:
        layout = self.layout()
        csv_dir = case_csv_dir(layout, self.root, self.csv_dir)
        if csv_dir is None or not any((csv_dir / name).is_file() for name in CASE_FILES):
            raise UserError(
                f"{self.root}: none of the four CBIS-DDSM case CSVs found"
                + (f" in {csv_dir}" if csv_dir else " beside the tree"),
                hint=f"Expected {', '.join(CASE_FILES)}; set dataset.options.csv_dir to their folder.",
            )
        digest = digest_paths(source_paths(layout, self.root, csv_dir))
        key = stable_hash(
            {
                "reader": READER_VERSION,
                "root": str(self.root.resolve()),
                "layout": layout,
                "csv_dir": str(csv_dir.resolve()),
                "decode": self._reader(layout),
                "source": digest,
            },
            16,
        )
        catalogue, _ = cached_catalogue(self.cache_dir, key, lambda: self._build(layout, csv_dir, digest))
        return catalogue

    def _build(self, layout: str, csv_dir: Path, digest: str) -> Catalogue:
        audit = Audit()
        audit.notes["layout"] = layout
        audit.notes["case CSVs"] = str(csv_dir)
        tree = open_tree(layout, self.root, audit, csv_dir)
        cases = read_case_tables(csv_dir, audit)
        records = Resolver(tree, self.root, audit).resolve(cases) if not cases.empty else []
        audit_catalogue(records, audit)
        return Catalogue(records, audit, source=str(self.root), reader=self._reader(layout), source_digest=digest)

    def read_image(self, path: Path) -> np.ndarray:
        return read_dicom_image(path, self.options.dicom_intensity) if is_dicom(path) else read_jpeg(path)

    def read_mask(self, path: Path) -> np.ndarray:
        return read_dicom_mask(path) if is_dicom(path) else read_jpeg(path)
