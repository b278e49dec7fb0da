"""A generated CBIS-DDSM-like tree, made on first use and read by the real reader.

The tree is written once into the cache (keyed by the generator's options) and then
read through the ``cbis-ddsm`` plugin, so every fixture run exercises the same code
path as real data.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from benchmark.api import Catalogue, FixtureConfig, generate_tree, lock, stable_hash, touch
from plugins.datasets.cbis_ddsm import CbisDdsm, CbisDdsmOptions


class SyntheticOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    images: int = Field(60, ge=6, le=100_000)
    height: int = Field(400, ge=128, le=8000)
    width: int = Field(256, ge=96, le=6000)
    variant: Literal["clean", "confounded"] = "clean"
    layout: Literal["kaggle", "tcia-classic", "tcia-descriptive"] = "kaggle"


class SyntheticCbisDdsm:
    """A generated miniature CBIS-DDSM tree (any of the three layouts, real quirks), read as real data."""

    Options: ClassVar[type[BaseModel]] = SyntheticOptions

    def __init__(self, options: SyntheticOptions | dict, *, cache_dir: Path) -> None:
        self.options = options if isinstance(options, SyntheticOptions) else SyntheticOptions.model_validate(options)
        self.config = FixtureConfig(**self.options.model_dump())
        self.root = cache_dir / "fixtures" / stable_hash(asdict(self.config))
        self.reader = CbisDdsm(CbisDdsmOptions(root=str(self.root), layout=self.config.layout), cache_dir=cache_dir)

    def catalogue(self) -> Catalogue:
        if not (self.root / "fixture-truth.json").exists():
            with lock(self.root):  # two processes on one home: one writes the tree, the other waits for it
                if not (self.root / "fixture-truth.json").exists():
                    generate_tree(self.root, self.config)
        touch(self.root)  # used now: runs --prune keeps trees in use
        return self.reader.catalogue()

    def read_image(self, path: Path) -> np.ndarray:
        return self.reader.read_image(path)

    def read_mask(self, path: Path) -> np.ndarray:
        return self.reader.read_mask(path)
