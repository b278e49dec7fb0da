"""Shared inputs of the kernel benchmarks (``make bench``; skipped by ``make test``, whose
pytest options say ``--benchmark-skip``). Every input is generated and seeded, small
enough for the whole folder to run in about a minute on two CPU cores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

#: the backbone every model benchmark uses: timm's smallest ResNet, random weights
BACKBONE = "timm/test_resnet"
CLASSES = 5


@pytest.fixture(scope="session")
def registries() -> Any:
    from benchmark.registry.loading import registries

    return registries()


@pytest.fixture(scope="session")
def backbone(registries: Any) -> Any:
    """The tiny backbone, built and checked as a run builds it (fresh head, CPU)."""
    from benchmark.registry.calls import build_backbone

    return build_backbone(registries, BACKBONE, num_classes=CLASSES, pretrained=False)


@pytest.fixture(scope="session")
def normaliser(registries: Any) -> Any:
    """ImageNet statistics: per channel affine, as the harness's normalisers are."""
    from benchmark.registry.calls import make_normaliser

    return make_normaliser(registries, "imagenet")


def grey_patches(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 grey patches (noise and a bright disc) and labels, every class in turn:
    a split as the harness keeps it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images = rng.normal(100, 25, (n, size, size))
    for image in images:
        cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= (size // 6) ** 2] += 80
    return images.clip(0, 255).astype(np.uint8), np.arange(n) % CLASSES


def saliency(n: int, size: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` smooth saliency maps in [0, 1] (Grad-CAM-like blobs, exact zeros where the
    ReLU cuts) and ``n`` lesion masks (discs near each map's peak), float32 and bool."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    maps = np.zeros((n, size, size), np.float32)
    masks = np.zeros((n, size, size), bool)
    for i in range(n):
        cy, cx = rng.uniform(0.25, 0.75, 2) * size
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 7) ** 2)) - 0.15
        maps[i] = np.clip(blob, 0, None) / blob.max()
        my, mx = np.array([cy, cx]) + rng.normal(0, size / 12, 2)
        masks[i] = (yy - my) ** 2 + (xx - mx) ** 2 <= (size / 6) ** 2
    return maps, masks
