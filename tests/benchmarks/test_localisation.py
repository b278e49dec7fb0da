"""The IoU / threshold scores of the LL (``plugins/localisation/iou.py`` through the
registry's checked call, ``benchmark/evaluation/thresholds.py``,
``benchmark/evaluation/localisation.py``) on 64 maps of 224 x 224: one threshold rule
each, then everything the evaluation computes per explainer (the LL under its rule,
three further rules and the 19-value threshold curve)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmark.spec.schema import Threshold
from tests.benchmarks.conftest import saliency

N, SIZE = 64, 224


@pytest.fixture(scope="module")
def maps_and_masks() -> tuple[np.ndarray, np.ndarray]:
    return saliency(N, SIZE)


@pytest.fixture(scope="module")
def iou(registries: Any) -> Any:
    from benchmark.registry.calls import metric

    return metric(registries, "iou")


@pytest.mark.parametrize("rule", ["value", "otsu", "mask-area"])
def test_iou_under_one_rule(benchmark, iou, maps_and_masks, rule: str) -> None:
    maps, masks = maps_and_masks
    scores = benchmark(iou, maps, masks, threshold=Threshold(rule=rule))
    assert scores.shape == (N,) and 0 < scores.mean() < 1


def test_ll_scores_of_one_explainer(benchmark, iou, maps_and_masks) -> None:
    from benchmark.evaluation.localisation import Scoring, score_localisation

    maps, masks = maps_and_masks
    rules = [Threshold(rule="otsu"), Threshold(rule="mask-area"), Threshold(rule="top-percent", value=10)]
    scoring = Scoring(metrics={"iou": iou}, ll_metric="iou", threshold=Threshold(), rules=rules)
    scores = benchmark.pedantic(
        score_localisation, args=(maps, np.arange(N), masks, scoring), rounds=5, warmup_rounds=1
    )
    assert len(scores.scores) == N and len(scores.curve.ll) == 19
