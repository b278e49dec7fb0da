"""Cutting patches out of a decoded mammogram: lesion boxes and background windows.

Lesion box (the study's "non-max suppression" step, made explicit): the mask is
thresholded (> 127: JPEG masks are lossy), split into 8-connected components, and
components smaller than 1% of the largest are discarded as compression noise. With
``lesion_box: largest`` (default) the box of the largest remaining component is the lesion
box; with ``union`` the box spanning every remaining component. Masks with several real
components are counted in the audit. The box grows by ``lesion_margin`` x its side on
every side, is clipped to the image, and is resized (stretched, not padded) to
``size`` x ``size``, the mask crop with it. Components are labelled on the mask's
bounding rectangle only, so the cost follows the lesion, not the mammogram.

Background window: ``background_size`` square, drawn uniformly at random (seeded per
image) among the positions that lie wholly inside the breast and clear of the extent of
every lesion mask of the image (every mask pixel, any pathology, the box grown by a
tenth of the window). The breast is found on a copy reduced about 32 cells per window
side (area averaging is the blur): cells brighter than 12, the largest connected
region (film labels and scanner marks fall away), shrunk by one cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

MASK_THRESHOLD = 127
NOISE_FRACTION = 0.01
BREAST_THRESHOLD = 12
CELLS_PER_WINDOW = 32
LesionBoxMode = Literal["largest", "union"]


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

    def shifted(self, dy: int, dx: int) -> Box:
        return Box(self.y0 + dy, self.x0 + dx, self.y1 + dy, self.x1 + dx)


@dataclass(frozen=True)
class LesionRegion:
    """Where a mask says the lesion is, in image pixels."""

    largest: Box  # the largest connected component
    union: Box  # every component of at least NOISE_FRACTION of the largest
    extent: Box  # every mask pixel, noise included: what background windows keep clear of
    components: int  # components of at least NOISE_FRACTION of the largest

    def box(self, mode: LesionBoxMode) -> Box:
        return self.largest if mode == "largest" else self.union


def binarise(mask: np.ndarray) -> np.ndarray:
    """A 0/1 uint8 mask: pixels above :data:`MASK_THRESHOLD`."""
    source = mask.astype(np.uint8) * 255 if mask.dtype == bool else mask
    return cv2.threshold(source, MASK_THRESHOLD, 1, cv2.THRESH_BINARY)[1]


def _nonzero_rect(image: np.ndarray) -> Box | None:
    x, y, w, h = cv2.boundingRect(image)
    return Box(y, x, y + h, x + w) if w and h else None


def find_lesion(mask: np.ndarray) -> LesionRegion | None:
    """The lesion of a mask (pixels above :data:`MASK_THRESHOLD`), or None when there is none.

    Only the rectangle holding the mask's non-zero pixels is thresholded and labelled."""
    outer = _nonzero_rect(mask.view(np.uint8) if mask.dtype == bool else mask)
    if outer is None:
        return None
    binary = binarise(mask[outer.y0 : outer.y1, outer.x0 : outer.x1])
    inner = _nonzero_rect(binary)  # lossy masks: faint pixels around the lesion are not lesion
    if inner is None:
        return None
    y, x = outer.y0 + inner.y0, outer.x0 + inner.x0
    h, w = inner.height, inner.width
    n, _, stats, _ = cv2.connectedComponentsWithStats(binary[inner.y0 : inner.y1, inner.x0 : inner.x1], connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    real = np.flatnonzero(areas >= NOISE_FRACTION * areas.max()) + 1

    def box_of(labels: np.ndarray) -> Box:
        x0, y0 = stats[labels, cv2.CC_STAT_LEFT], stats[labels, cv2.CC_STAT_TOP]
        x1, y1 = x0 + stats[labels, cv2.CC_STAT_WIDTH], y0 + stats[labels, cv2.CC_STAT_HEIGHT]
        return Box(int(y0.min()), int(x0.min()), int(y1.max()), int(x1.max())).shifted(y, x)

    largest = box_of(np.array([1 + int(np.argmax(areas))]))
    return LesionRegion(largest, box_of(real), Box(y, x, y + h, x + w), len(real))


def expand(box: Box, margin: float, shape: tuple[int, int]) -> Box:
    dy, dx = round(box.height * margin), round(box.width * margin)
    return Box(max(0, box.y0 - dy), max(0, box.x0 - dx), min(shape[0], box.y1 + dy), min(shape[1], box.x1 + dx))


def crop_resized(image: np.ndarray, box: Box, size: int, is_mask: bool = False) -> np.ndarray:
    """``box`` of ``image`` resized to ``size`` x ``size``; for a mask, thresholded first
    and returned as booleans."""
    region = image[box.y0 : box.y1, box.x0 : box.x1]
    if is_mask:
        return cv2.resize(binarise(region), (size, size), interpolation=cv2.INTER_NEAREST).astype(bool)
    interp = cv2.INTER_AREA if region.shape[0] >= size else cv2.INTER_LINEAR
    return cv2.resize(region, (size, size), interpolation=interp)


def breast_cells(image: np.ndarray, scale: int) -> np.ndarray:
    """Boolean map of ``scale`` x ``scale`` cells wholly inside the breast."""
    h, w = image.shape[0] // scale, image.shape[1] // scale
    small = image[: h * scale, : w * scale]
    if scale > 1:  # exact integer factor: OpenCV's fast area-averaging path
        small = cv2.resize(small, (w, h), interpolation=cv2.INTER_AREA)
    inside = (cv2.GaussianBlur(small, (0, 0), 1.0) > BREAST_THRESHOLD).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inside, connectivity=8)
    if n <= 1:
        return np.zeros((h, w), bool)
    breast = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    return cv2.erode(breast, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)


def background_boxes(
    image: np.ndarray, lesions: list[Box], side: int, count: int, rng: np.random.Generator
) -> list[Box]:
    """Up to ``count`` non-overlapping windows inside the breast and clear of every box in
    ``lesions`` (grown by a tenth of the window)."""
    h, w = image.shape
    if side > h or side > w or count == 0:
        return []
    scale = max(1, side // CELLS_PER_WINDOW)
    forbidden = ~breast_cells(image, scale)
    pad = max(1, side // 10)
    for box in lesions:
        forbidden[
            max(0, (box.y0 - pad) // scale) : math.ceil((box.y1 + pad) / scale),
            max(0, (box.x0 - pad) // scale) : math.ceil((box.x1 + pad) / scale),
        ] = True
    k = math.ceil(side / scale)  # cells a window touches
    if k > forbidden.shape[0] or k > forbidden.shape[1]:
        return []
    # A window at cell (y, x) is valid when the forbidden cells inside it sum to zero.
    integral = cv2.integral(forbidden.astype(np.uint8))
    sums = integral[k:, k:] - integral[:-k, k:] - integral[k:, :-k] + integral[:-k, :-k]
    boxes: list[Box] = []
    taken = np.zeros(sums.shape, bool)
    for _ in range(count):
        valid = np.argwhere((sums == 0) & ~taken)
        if len(valid) == 0:
            break
        y, x = (int(v) for v in valid[rng.integers(len(valid))])
        boxes.append(Box(y * scale, x * scale, y * scale + side, x * scale + side))
        taken[max(0, y - k + 1) : y + k, max(0, x - k + 1) : x + k] = True  # no overlap between windows
    return boxes
