"""CBIS-DDSM as released: case CSVs plus images, layout detected from the tree."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from benchmark.data.audit import Audit
from benchmark.data.catalogue import Catalogue
from benchmark.errors import UserError
from plugins.datasets.cbis_ddsm.checks import audit_catalogue
from plugins.datasets.cbis_ddsm.images import read_jpeg
from plugins.datasets.cbis_ddsm.kaggle import kaggle_records, looks_like_kaggle


class CbisDdsmOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str
    layout: Literal["auto", "kaggle"] = "auto"


class CbisDdsm:
    """CBIS-DDSM from a Kaggle JPEG tree (``csv/`` and ``jpeg/``)."""

    Options: ClassVar[type[BaseModel]] = CbisDdsmOptions

    def __init__(self, options: CbisDdsmOptions | dict, *, cache_dir: Path) -> None:
        self.options = options if isinstance(options, CbisDdsmOptions) else CbisDdsmOptions.model_validate(options)
        self.root = Path(os.path.expanduser(self.options.root))
        self.cache_dir = cache_dir

    def layout(self) -> str:
        if not self.root.is_dir() or not any(self.root.iterdir()):
            in_docker = os.environ.get("CBIS_BENCH_IN_DOCKER") == "1"
            raise UserError(
                f"dataset.options.root: {self.root} is {'empty' if self.root.is_dir() else 'not a folder'}",
                hint=(f"Mount your CBIS-DDSM tree there: docker run -v /path/to/CBIS-DDSM:{self.root} ..."
                      if in_docker else "Point it at the CBIS-DDSM tree (set CBIS_DDSM_ROOT, or pass a spec whose "
                      "dataset.options.root names it)."),
            )
        if self.options.layout != "auto":
            return self.options.layout
        if looks_like_kaggle(self.root):
            return "kaggle"
        raise UserError(
            f"dataset.options.root: {self.root} does not look like a CBIS-DDSM tree",
            hint="Expected the Kaggle release (csv/ and jpeg/ folders).",
        )

    def catalogue(self) -> Catalogue:
        audit = Audit()
        layout = self.layout()
        audit.notes["layout"] = layout
        records = kaggle_records(self.root, audit)
        audit_catalogue(records, audit)
        return Catalogue(records, audit, source=str(self.root))

    def read_image(self, path: Path) -> np.ndarray:
        return read_jpeg(path)

    def read_mask(self, path: Path) -> np.ndarray:
        return read_jpeg(path)
