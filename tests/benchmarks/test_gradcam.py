"""Batched Grad-CAM (the ``gradcam-batched`` explainer) on the tiny timm backbone, on the
CPU: 16 patches of 96 x 96, one target class each, as the LL evaluation explains them
(eval mode, gradients on, fp32)."""

from __future__ import annotations

from typing import Any

import torch

from tests.benchmarks.conftest import grey_patches

N, SIZE = 16, 96


def test_gradcam_batched(benchmark, registries: Any, backbone: Any, normaliser: Any) -> None:
    from benchmark.evaluation.localisation import explaining
    from benchmark.registry.calls import make_explainer
    from benchmark.training.device_data import DeviceSplit, to_input

    explainer, _ = make_explainer(registries, "gradcam-batched", backbone)
    split = DeviceSplit.from_arrays(*grey_patches(N, SIZE), torch.device("cpu"))
    x = to_input(split.images, split.labels, normaliser)
    with explaining(backbone.model):
        maps = benchmark.pedantic(explainer, args=(x, split.labels), rounds=10, warmup_rounds=1)
    assert maps.shape == (N, SIZE, SIZE) and 0 <= maps.min() and maps.max() <= 1
