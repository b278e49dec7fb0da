"""The baseline whole-image model: the trained patch classifier slid over the mammogram.

Windows of the patch size at a fixed stride (plus one flush with the bottom and right
edges, so every pixel is covered) go through the patch classifier unchanged, with the
patch run's normaliser: the heatmap of each window is exactly the classifier's output
on that crop, nothing is trained. The image score is the largest
P(malignant calcification) + P(malignant mass) over the windows: one malignant-looking
region makes the image malignant, as a radiologist's call would. The pixel heatmap
averages that sum over the windows covering each pixel.

Only windows mostly inside the breast count: the patch classifier never saw the black
film around it (every training patch, background ones included, lies in the breast)
and its output there, or on the skin line, means nothing. A window with less than 90% of
its pixels above :data:`TISSUE_LEVEL` scores 0.

A window of another size than the patches is resized to the patch size before the
classifier, as every training patch was (lesion boxes were stretched to it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from benchmark.api import CLASSES, WholeImageContext, WholeImageOutput

#: uint8 images (N, 1, H, W) on the device -> normalised network input (the patch run's normaliser)
ToInput = Callable[[torch.Tensor], torch.Tensor]

MALIGNANT_CLASSES = [CLASSES.index("malignant_calcification"), CLASSES.index("malignant_mass")]
#: grey level (of 255) above which a pixel counts as breast, not film
TISSUE_LEVEL = 10
TISSUE_FRACTION = 0.9


def positions(length: int, window: int, stride: int) -> list[int]:
    """Window starts along one axis: every ``stride``, and one flush with the far edge."""
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


@dataclass
class Heatmaps:
    proba: np.ndarray  # (N, gy, gx, classes): the classifier's probabilities per window
    scores: np.ndarray  # (N,) image score: max over breast windows of P(MC) + P(MM)
    maps: np.ndarray  # (N, H, W) float32 malignant probability per pixel, mean over covering windows


@torch.no_grad()
def window_probabilities(
    model: torch.nn.Module,
    to_input: ToInput,
    image: torch.Tensor,
    window: int,
    stride: int,
    batch: int = 64,
    size: int | None = None,
) -> torch.Tensor:
    """(gy, gx, classes) softmax of the classifier on every window of one uint8 (H, W) image,
    each window resized to ``size`` (the patch size) first when given, as patches were."""
    h, w = image.shape
    ys, xs = positions(h, window, stride), positions(w, window, stride)
    crops = torch.stack([image[y : y + window, x : x + window] for y in ys for x in xs]).unsqueeze(1)
    out = []
    for start in range(0, len(crops), batch):
        x = to_input(crops[start : start + batch])
        if size is not None and size != window:
            x = torch.nn.functional.interpolate(
                x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        out.append(torch.softmax(model(x).float(), dim=1))
    return torch.cat(out).view(len(ys), len(xs), -1)


def tissue(image: np.ndarray, window: int, stride: int) -> np.ndarray:
    """(gy, gx) True where the window is mostly breast."""
    h, w = image.shape
    inside = image > TISSUE_LEVEL
    return np.array(
        [
            [inside[y : y + window, x : x + window].mean() >= TISSUE_FRACTION for x in positions(w, window, stride)]
            for y in positions(h, window, stride)
        ]
    )


def pixel_map(grid: np.ndarray, shape: tuple[int, int], window: int, stride: int) -> np.ndarray:
    """Each pixel's mean of the window values (gy, gx) covering it."""
    h, w = shape
    total, count = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    for i, y in enumerate(positions(h, window, stride)):
        for j, x in enumerate(positions(w, window, stride)):
            total[y : y + window, x : x + window] += grid[i, j]
            count[y : y + window, x : x + window] += 1
    return total / np.maximum(count, 1)


def heatmaps(
    model: torch.nn.Module,
    to_input: ToInput,
    images: np.ndarray,
    window: int,
    stride: int,
    device: torch.device,
    size: int | None = None,
) -> Heatmaps:
    """The sliding-window heatmaps and image scores of uint8 images (N, H, W); windows
    resized to ``size`` before the classifier when given."""
    model.eval()
    probas, scores, maps = [], [], []
    for image in images:
        grid = (
            window_probabilities(
                model, to_input, torch.from_numpy(np.ascontiguousarray(image)).to(device), window, stride, size=size
            )
            .cpu()
            .numpy()
        )
        malignant = grid[..., MALIGNANT_CLASSES].sum(-1) * tissue(image, window, stride)
        probas.append(grid)
        scores.append(float(malignant.max()))
        maps.append(pixel_map(malignant, image.shape, window, stride))
    return Heatmaps(np.stack(probas), np.asarray(scores), np.stack(maps))


def heatmap_model(context: WholeImageContext, **_: Any) -> WholeImageOutput:
    """The registered model: windows of ``whole_image.window`` (default: the patch size)
    every ``stride`` (default: half a window), resized to the patch size."""
    settings = context.settings
    window = settings.window or context.patch_size
    stride = settings.stride or max(1, window // 2)
    found = heatmaps(
        context.backbone.model,
        context.to_input,
        context.images[context.split("test")],
        window,
        stride,
        context.device,
        size=context.patch_size,
    )
    return WholeImageOutput(
        found.scores,
        found.maps,
        {
            "window": window,
            "stride": stride,
            "resized_to": context.patch_size,
            "pooling": "max over breast windows of P(malignant calc) + P(malignant mass)",
        },
    )
