"""The faithfulness scores: ROAD's noisy linear imputation
(``benchmark/evaluation/imputation.py``) of 8 normalised grey patches of 64 x 64 with
their 50 % most relevant pixels removed, and the ``road-morf`` metric through the
registry's checked call (9 removal steps, each imputed and classified) on the tiny timm
backbone, CPU, without gradients."""

from __future__ import annotations

from typing import Any

import torch

from tests.benchmarks.conftest import grey_patches, saliency

N, SIZE = 8, 64


def _inputs(normaliser: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    from benchmark.training.device_data import DeviceSplit, to_input

    split = DeviceSplit.from_arrays(*grey_patches(N, SIZE), torch.device("cpu"))
    maps, _ = saliency(N, SIZE)
    return to_input(split.images, split.labels, normaliser), torch.from_numpy(maps), split.labels


def test_noisy_linear_imputation(benchmark, normaliser: Any) -> None:
    from benchmark.evaluation.imputation import noisy_linear_imputation, removal_masks

    x, maps, _ = _inputs(normaliser)
    removed = removal_masks(maps, 50.0, generator=torch.Generator().manual_seed(0))
    imputed = benchmark.pedantic(
        noisy_linear_imputation, args=(x, removed, 0.01, torch.Generator().manual_seed(0)), rounds=10, warmup_rounds=1
    )
    kept = ~removed[:, None].expand_as(x)
    assert imputed.shape == x.shape and torch.equal(imputed[kept], x[kept])  # only removed pixels change


def test_road_morf(benchmark, registries: Any, backbone: Any, normaliser: Any) -> None:
    from benchmark.registry.calls import faithfulness_metric

    metric = faithfulness_metric(registries, "road-morf")
    x, maps, targets = _inputs(normaliser)
    backbone.model.eval()

    def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
        """New tensors each round: ROAD keeps the last batch's curve for the same tensors."""
        return (backbone.model, x.clone(), maps.clone(), targets.clone()), {}

    with torch.no_grad():
        out = benchmark.pedantic(metric, setup=fresh, rounds=5, warmup_rounds=1)
    assert out.scores.shape == (N,) and out.curve.shape == (N, 9)
