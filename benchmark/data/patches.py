"""Cutting patches out of a decoded mammogram: lesion boxes and background windows.

Lesion box (the study's "non-max suppression" step, made explicit): the mask is
thresholded (> 127, JPEG masks are lossy), split into 8-connected components, components
smaller than 1% of the largest are discarded as compression noise, and the bounding box
of the *largest* component is the lesion box. Masks with several real components are
counted in the audit. The box grows by ``lesion_margin`` x its side on every side,
is clipped to the image, and is resized (not padded) to ``size`` x ``size``, the mask
crop with it.

Background window: ``background_size`` square, drawn uniformly at random (seeded per
image) among positions that lie wholly inside the breast and overlap no lesion mask of
that image (any pathology, dilated by a tenth of the window).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MASK_THRESHOLD = 127
NOISE_FRACTION = 0.01
BREAST_THRESHOLD = 12


@dataclass(frozen=True)
class Box:
    y0: int
    x0: int
    y1: int
    x1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0


def binarise(mask: np.ndarray) -> np.ndarray:
    return mask > MASK_THRESHOLD


def lesion_box(mask: np.ndarray) -> tuple[Box | None, int]:
    """Box of the largest connected component of a boolean mask, and how many real
    components the mask has (0 for an empty mask)."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None, 0
    areas = stats[1:, cv2.CC_STAT_AREA]
    real = int((areas >= NOISE_FRACTION * areas.max()).sum())
    k = 1 + int(np.argmax(areas))
    x, y, w, h = (int(v) for v in stats[k, :4])
    return Box(y, x, y + h, x + w), real


def expand(box: Box, margin: float, shape: tuple[int, int]) -> Box:
    dy, dx = round(box.height * margin), round(box.width * margin)
    return Box(max(0, box.y0 - dy), max(0, box.x0 - dx), min(shape[0], box.y1 + dy), min(shape[1], box.x1 + dx))


def crop_resized(image: np.ndarray, box: Box, size: int, is_mask: bool = False) -> np.ndarray:
    region = image[box.y0 : box.y1, box.x0 : box.x1]
    if is_mask:
        out = cv2.resize(region.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
        return out.astype(bool)
    interp = cv2.INTER_AREA if region.shape[0] >= size else cv2.INTER_LINEAR
    return cv2.resize(region, (size, size), interpolation=interp)


def breast_region(image: np.ndarray) -> np.ndarray:
    """Pixels of the breast: not the black surround (after a blur that ignores noise)."""
    small = cv2.GaussianBlur(image, (0, 0), 2.0)
    return small > BREAST_THRESHOLD


def background_boxes(
    image: np.ndarray, lesion_masks: list[np.ndarray], side: int, count: int, rng: np.random.Generator
) -> list[Box]:
    """Up to ``count`` non-overlapping windows inside the breast and clear of every lesion."""
    h, w = image.shape
    if side > h or side > w or count == 0:
        return []
    # Work at reduced resolution: the constraint maps need not be pixel-exact.
    scale = max(1, side // 32)
    small_shape = (h // scale, w // scale)
    forbidden = ~cv2.resize(breast_region(image).astype(np.uint8), small_shape[::-1], interpolation=cv2.INTER_NEAREST).astype(bool)
    pad = max(1, side // 10 // scale)
    for mask in lesion_masks:
        m = cv2.resize(mask.astype(np.uint8), small_shape[::-1], interpolation=cv2.INTER_NEAREST)
        forbidden |= cv2.dilate(m, np.ones((2 * pad + 1, 2 * pad + 1), np.uint8)).astype(bool)
    k = side // scale
    # A window at (y, x) is valid when the summed forbidden area inside it is zero.
    integral = cv2.integral(forbidden.astype(np.uint8))
    sums = integral[k:, k:] - integral[:-k, k:] - integral[k:, :-k] + integral[:-k, :-k]
    boxes: list[Box] = []
    taken = np.zeros_like(sums, dtype=bool)
    for _ in range(count):
        valid = np.argwhere((sums == 0) & ~taken)
        if len(valid) == 0:
            break
        y, x = valid[rng.integers(len(valid))]
        boxes.append(Box(int(y) * scale, int(x) * scale, int(y) * scale + side, int(x) * scale + side))
        taken[max(0, y - k + 1) : y + k, max(0, x - k + 1) : x + k] = True  # no overlap between windows
    return boxes
