"""Patch cutting (``benchmark/data/patches.py``) on one generated mammogram of 3000 x
1800: the lesion patch (components of the mask, box, crop and resize of image and mask)
and the background windows (breast cells, integral image, draw, crops)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.data.patches import background_boxes, crop_resized, expand, find_lesion

SHAPE = (3000, 1800)
SIZE = 224


@pytest.fixture(scope="module")
def mammogram() -> tuple[np.ndarray, np.ndarray]:
    """A textured breast on black with one bright lesion, and its 0/255 mask (with a
    speck of JPEG-like noise the component filter drops)."""
    from benchmark.fixture.drawing import draw_mammogram

    rng = np.random.default_rng(0)
    image, _ = draw_mammogram(rng, SHAPE, left=True)
    yy, xx = np.ogrid[: SHAPE[0], : SHAPE[1]]
    lesion = (yy - 1400) ** 2 + (xx - 600) ** 2 <= 120**2
    image = np.where(lesion, image + 60, image).clip(0, 255).astype(np.uint8)
    mask = (lesion * 255).astype(np.uint8)
    mask[1600:1603, 900:903] = 200
    return image, mask


def test_lesion_patch(benchmark, mammogram) -> None:
    image, mask = mammogram

    def cut() -> tuple[np.ndarray, np.ndarray]:
        box = expand(find_lesion(mask).box("largest"), 0.0, image.shape)
        return crop_resized(image, box, SIZE), crop_resized(mask, box, SIZE, is_mask=True)

    patch, patch_mask = benchmark(cut)
    assert patch.shape == (SIZE, SIZE) and patch_mask.dtype == bool and 0.6 < patch_mask.mean() < 0.9


def test_background_windows(benchmark, mammogram) -> None:
    image, mask = mammogram
    lesion = find_lesion(mask).extent

    def cut() -> list[np.ndarray]:
        boxes = background_boxes(image, [lesion], 550, 2, np.random.default_rng(1))
        return [crop_resized(image, box, SIZE) for box in boxes]

    patches = benchmark(cut)
    assert len(patches) == 2 and all(p.shape == (SIZE, SIZE) for p in patches)
