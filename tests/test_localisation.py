"""Localisation: threshold rules, every metric on known maps, and the LL score on correctly
classified lesion patches, with all-zero maps counted and not scored."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from benchmark.evaluation.localisation import Explained, Scoring, localisation_scores
from benchmark.evaluation.thresholds import binarise, choose_on_validation
from benchmark.spec.schema import Localisation, Threshold
from benchmark.training.device_data import DeviceSplit
from plugins.localisation import (
    energy_pointing_game,
    iou,
    iou_sweep,
    pointing_game,
    relevance_mass,
    relevance_rank,
)
from plugins.normalisers import ImageNetNormaliser


def test_iou_known_values() -> None:
    maps = np.zeros((3, 4, 4), np.float32)
    masks = np.zeros((3, 4, 4), bool)
    masks[:, :2, :2] = True
    maps[0, :2, :2] = 1.0  # perfect
    maps[1, :2, :] = 0.8  # covers the mask and as much again
    maps[2, 2:, 2:] = 0.9  # disjoint
    assert np.allclose(iou(maps, masks, threshold=0.5), [1.0, 0.5, 0.0])
    assert np.allclose(iou(maps, masks, threshold=0.85), [1.0, 0.0, 0.0])


def test_threshold_rules() -> None:
    maps = np.linspace(0.0, 1.0, 16, dtype=np.float32).reshape(1, 4, 4)
    masks = np.zeros((1, 4, 4), bool)
    masks[0, :, :1] = True  # 4 pixels
    assert binarise(maps, masks, 0.5).sum() == 8
    top = binarise(maps, masks, {"rule": "top-percent", "value": 25})
    assert top.sum() == 4 and top[0, 3].all()  # the last row holds the 4 largest values
    assert binarise(maps, masks, Threshold(rule="mask-area")).sum() == 4
    sparse = np.zeros((1, 4, 4), np.float32)
    sparse[0, 0, 0] = 1.0
    assert binarise(sparse, masks, Threshold(rule="mask-area")).sum() == 1  # zero saliency never fills a region


def test_spec_threshold_accepts_a_bare_number_and_checks_ranges() -> None:
    assert Localisation.model_validate({"threshold": 0.3}).threshold == Threshold(rule="value", value=0.3)
    with pytest.raises(ValueError, match="strictly between 0 and 100"):
        Threshold(rule="top-percent", value=150)


def test_other_metrics_known_values() -> None:
    masks = np.zeros((2, 4, 4), bool)
    masks[:, 1:3, 1:3] = True  # a 2 x 2 lesion in the middle
    maps = np.zeros((2, 4, 4), np.float32)
    maps[0, 1:3, 1:3] = 1.0  # all saliency on the lesion
    maps[1, 0, 1:3] = 1.0  # most of it just above the lesion
    maps[1, 1, 1] = 0.5
    assert np.allclose(pointing_game(maps, masks), [1.0, 0.0])
    assert np.allclose(pointing_game(maps, masks, tolerance=1), [1.0, 1.0])  # the peak touches the grown mask
    assert np.allclose(relevance_mass(maps, masks), [1.0, 0.5 / 2.5])
    assert np.allclose(energy_pointing_game(maps, masks), relevance_mass(maps, masks))  # a square mask is its box
    assert np.allclose(relevance_rank(maps, masks), [1.0, 0.25])  # 3 salient pixels among the top 4, 1 on the lesion
    assert np.allclose(
        iou_sweep(maps, masks), np.mean([iou(maps, masks, t) for t in np.linspace(0.05, 0.95, 19)], axis=0)
    )


class _Fixed:
    """An explainer returning prepared maps, recording what it was asked."""

    def __init__(self, maps: np.ndarray) -> None:
        self.maps, self.calls = maps, []

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        self.calls.append(targets.tolist())
        out, self.maps = self.maps[: len(images)], self.maps[len(images) :]
        return out


def _explained(
    maps_explainer_predictions: np.ndarray, labels: np.ndarray, masks: np.ndarray, has_mask: np.ndarray
) -> Explained:
    images = np.zeros((len(labels), 8, 8), np.uint8)
    split = DeviceSplit.from_arrays(images, labels, torch.device("cpu"))
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 5))
    return Explained(model, split, masks, has_mask, maps_explainer_predictions, ImageNetNormaliser(), batch_size=2)


def _five_patches() -> tuple[Explained, np.ndarray]:
    labels = np.array([0, 1, 2, 3, 4])
    masks = np.zeros((5, 8, 8), bool)
    masks[1:, 2:6, 2:6] = True
    has_mask = np.array([False, True, True, True, True])
    predictions = np.array([0, 1, 2, 0, 4])  # patch 3 is wrong, patch 0 is background
    maps = np.zeros((3, 8, 8), np.float32)
    maps[0, 2:6, 2:6] = 1.0
    maps[1, 2:6, 2:4] = 1.0  # half the mask
    # maps[2] stays zero: it points nowhere
    return _explained(predictions, labels, masks, has_mask), maps


def test_ll_averages_every_correct_lesion_patch_and_a_zero_map_scores_zero() -> None:
    test, maps = _five_patches()
    explainer = _Fixed(maps)
    scoring = Scoring(
        {"iou": iou, "relevance-mass": relevance_mass, "pointing-game": pointing_game},
        "iou",
        Threshold(),
        [Threshold(rule="otsu")],
    )
    result = localisation_scores(explainer, test, scoring).model_dump()
    assert explainer.calls == [[1, 2], [4]]  # the predicted class is the target
    assert result["n_correct_lesions"] == 3 and result["n_zero_maps"] == 1 and result["n_scored"] == 3
    assert result["patch_index"] == [1, 2, 4] and result["zero_map_index"] == [4]
    assert result["scores"] == [1.0, 0.5, 0.0]
    assert result["ll"] == pytest.approx((1.0 + 0.5 + 0.0) / 3)  # the zero map lowers LL: it is not left out
    assert result["metrics"]["relevance-mass"] == {"mean": pytest.approx(2 / 3), "scores": [1.0, 1.0, 0.0]}
    # the zero map's argmax is pixel (0, 0): without the rule it would be a miss only by luck of the mask
    assert result["metrics"]["pointing-game"]["scores"][2] == 0.0
    assert result["metrics"]["iou@otsu"]["scores"] == [1.0, 0.5, 0.0]
    assert result["curve"]["ll"][0] == pytest.approx(0.5) and len(result["curve"]["thresholds"]) == 19


def test_threshold_rules_differ_as_expected_on_a_constructed_map() -> None:
    """A faint map: 0.45 on the lesion, 0.1 elsewhere. A fixed 0.5 finds no region at
    all; Otsu, which looks at each map's own values, and mask-area find the lesion
    exactly; a low value takes in the whole patch."""
    maps = np.full((1, 10, 10), 0.1, np.float32)
    maps[0, 3:7, 3:7] = 0.45
    masks = np.zeros((1, 10, 10), bool)
    masks[0, 3:7, 3:7] = True
    sizes = {
        label: int(binarise(maps, masks, rule).sum())
        for label, rule in (
            ("0.5", 0.5),
            ("0.05", 0.05),
            ("otsu", "otsu"),
            ("mask", "mask-area"),
            ("top", {"rule": "top-percent", "value": 4}),
        )
    }
    assert sizes == {"0.5": 0, "0.05": 100, "otsu": 16, "mask": 16, "top": 16}  # top 4 pixels: their 12 ties kept
    assert iou(maps, masks, 0.5)[0] == 0.0
    assert iou(maps, masks, "otsu")[0] == 1.0
    assert iou(maps, masks, 0.05)[0] == pytest.approx(16 / 100)
    flat = np.full((1, 10, 10), 0.7, np.float32)  # no structure: Otsu has nothing to separate
    assert binarise(flat, masks, "otsu").sum() == 0 and binarise(flat, masks, 0.5).sum() == 100
    with pytest.raises(ValueError, match="resolved"):
        binarise(maps, masks, "validation")


def test_validation_rule_chooses_on_the_validation_split_only() -> None:
    """Validation maps are best cut at 0.2, test maps at 0.5: the chosen value comes
    from validation, and the test LL under the rule uses it."""
    test, _ = _five_patches()
    validation = _explained(np.array([1, 2]), np.array([1, 2]), test.masks[1:3], np.array([True, True]))
    val_maps = np.zeros((2, 8, 8), np.float32)
    val_maps[:, 2:6, 2:6] = 0.25  # on the lesion, weak: only a low threshold keeps it
    test_maps = np.zeros((3, 8, 8), np.float32)
    test_maps[:, 2:6, 2:6] = 0.9
    test_maps[:, :2, :] = 0.22  # off the lesion, weak: a low threshold takes it in
    explainer = _Fixed(np.concatenate([test_maps, val_maps]))  # test first, then validation
    scoring = Scoring({"iou": iou}, "iou", Threshold(), [Threshold(rule="validation")])
    result = localisation_scores(explainer, test, scoring, validation).model_dump()
    assert result["validation"]["n"] == 2 and result["validation"]["chosen"] == 0.05
    assert result["validation"]["ll"][0] == 1.0 and result["validation"]["ll"][5] == 0.0
    assert result["ll"] == 1.0  # 0.5 on test
    assert result["metrics"]["iou@validation"]["mean"] == pytest.approx(16 / 32)  # 0.05 takes in the off-lesion rows


def test_choose_on_validation_takes_the_lowest_best_value() -> None:
    assert choose_on_validation([0.1, 0.3, 0.3, None], values=[0.1, 0.2, 0.3, 0.4]) == 0.2
    assert choose_on_validation([None, None], values=[0.1, 0.2]) is None
