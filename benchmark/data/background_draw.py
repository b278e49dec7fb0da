"""How many background windows each image gives when a spec asks for a total per split
(``patches.background_count``), as the study drew them: 550 x 550 windows from randomly
selected BENIGN_WITHOUT_CALLBACK images, 644 for training and 310 for test.

The images of a split are put in a seeded random order and the windows dealt out over
them in turn (one each while the images last, then a second each, ...), so the windows
are spread over as many images as possible. The real release has about 324 such
training images and 79 test images, so most give two (training) or four (test) windows.
Each image's windows themselves are drawn by the preparation, seeded by the image.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np

from benchmark.data.catalogue import ImageRecord

#: the splits a background_count names
DrawSplit = Literal["train", "test"]
SPLITS: tuple[DrawSplit, ...] = ("train", "test")


def allocate(records: Iterable[ImageRecord], counts: Mapping[DrawSplit, int], seed: int) -> dict[str, int]:
    """Windows per image id (only images that give at least one)."""
    records = list(records)
    out: dict[str, int] = {}
    for index, split in enumerate(SPLITS):
        wanted = int(counts.get(split, 0))
        pool = sorted(r.image_id for r in records if r.background_source and r.split == split)
        if not pool or wanted <= 0:
            continue
        order = np.random.default_rng([seed, index]).permutation(len(pool))
        for k in range(wanted):
            image = pool[order[k % len(pool)]]
            out[image] = out.get(image, 0) + 1
    return out


def available(records: Iterable[ImageRecord]) -> dict[str, int]:
    """Background images per split."""
    found: dict[str, int] = {s: 0 for s in SPLITS}
    for r in records:
        if r.background_source:
            found[r.split] = found.get(r.split, 0) + 1
    return found
