"""The patch-cutting rules on hand-made masks and images: which component the lesion box
follows, what background windows avoid."""

from __future__ import annotations

import cv2
import numpy as np

from benchmark.data.patches import Box, background_boxes, binarise, find_lesion


def _mask(shape: tuple[int, int], *rects: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for y0, x0, y1, x1 in rects:
        mask[y0:y1, x0:x1] = 255
    return mask


def test_lesion_box_largest_or_union_and_noise_ignored() -> None:
    # a big lesion, a second real one, a speck under 1% of the big one (JPEG noise)
    raw = _mask((400, 300), (100, 50, 200, 150), (300, 200, 330, 240), (20, 280, 22, 282))
    region = find_lesion(raw)
    assert region is not None and find_lesion(raw > 127) == region  # decoded or boolean masks alike
    assert region.largest == Box(100, 50, 200, 150)
    assert region.union == Box(100, 50, 330, 240)  # the speck is not part of the lesion ...
    assert region.extent == Box(20, 50, 330, 282)  # ... but background windows keep clear of it
    assert region.components == 2
    assert region.box("largest") == region.largest and region.box("union") == region.union


def test_lossy_masks_are_thresholded_and_empty_masks_have_no_lesion() -> None:
    raw = _mask((100, 100), (40, 40, 60, 70))
    noisy = cv2.imdecode(cv2.imencode(".jpg", raw, [cv2.IMWRITE_JPEG_QUALITY, 75])[1], cv2.IMREAD_GRAYSCALE)
    assert (noisy != raw).any()
    region = find_lesion(noisy)
    assert region is not None and region.largest == Box(40, 40, 60, 70) and region.components == 1
    assert find_lesion(np.full((50, 50), 100, np.uint8)) is None  # grey, under the threshold
    assert find_lesion(np.zeros((50, 50), bool)) is None
    assert binarise(noisy).max() == 1 and set(np.unique(binarise(noisy))) == {0, 1}


def _breast(shape: tuple[int, int]) -> np.ndarray:
    """A bright half-disc against the left edge on black, with a film label far from it."""
    image = np.zeros(shape, np.uint8)
    cv2.circle(image, (0, shape[0] // 2), int(shape[0] * 0.45), 120, -1)
    image[10:60, shape[1] - 80 : shape[1] - 10] = 250  # a label: bright, but not breast
    return image


def test_background_windows_inside_the_breast_clear_of_lesions_and_apart() -> None:
    image = _breast((1200, 800))
    lesion = Box(500, 100, 700, 300)
    for side, count in ((48, 6), (200, 3)):
        boxes = background_boxes(image, [lesion], side, count, np.random.default_rng(0))
        assert len(boxes) == count
        pad = side // 10
        for i, box in enumerate(boxes):
            assert box.height == box.width == side
            assert image[box.y0 : box.y1, box.x0 : box.x1].min() == 120  # wholly inside the breast, not the label
            assert (
                box.y1 + pad <= lesion.y0
                or box.y0 >= lesion.y1 + pad
                or box.x1 + pad <= lesion.x0
                or box.x0 >= lesion.x1 + pad
            )
            for other in boxes[i + 1 :]:
                assert box.y1 <= other.y0 or other.y1 <= box.y0 or box.x1 <= other.x0 or other.x1 <= box.x0
        again = background_boxes(image, [lesion], side, count, np.random.default_rng(0))
        assert again == boxes  # seeded: the same windows every time


def test_no_background_window_where_there_is_no_room() -> None:
    image = _breast((600, 400))
    assert background_boxes(image, [Box(0, 0, 600, 400)], 64, 2, np.random.default_rng(0)) == []
    assert background_boxes(np.zeros((600, 400), np.uint8), [], 64, 2, np.random.default_rng(0)) == []
    assert background_boxes(image, [], 700, 2, np.random.default_rng(0)) == []
