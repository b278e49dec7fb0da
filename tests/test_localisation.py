"""Localisation: threshold rules, every metric on known maps, and the LL score on correctly
classified lesion patches, with all-zero maps counted and not scored."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from benchmark.evaluation.localisation import localisation_scores
from benchmark.evaluation.thresholds import binarise
from benchmark.spec.schema import Localisation, Threshold
from benchmark.training.device_data import DeviceSplit
from plugins.localisation import energy_pointing_game, iou, iou_sweep, pointing_game, relevance_mass, relevance_rank
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
    assert np.allclose(iou_sweep(maps, masks), np.mean([iou(maps, masks, t) for t in np.linspace(0.05, 0.95, 19)], axis=0))


class _Fixed:
    """An explainer returning prepared maps, recording what it was asked."""

    def __init__(self, maps: np.ndarray) -> None:
        self.maps, self.calls = maps, []

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        self.calls.append(targets.tolist())
        out, self.maps = self.maps[: len(images)], self.maps[len(images):]
        return out


def test_ll_scores_only_correct_lesion_patches_and_reports_zero_maps() -> None:
    images = np.zeros((5, 8, 8), np.uint8)
    labels = np.array([0, 1, 2, 3, 4])
    split = DeviceSplit.from_arrays(images, labels, torch.device("cpu"))
    masks = np.zeros((5, 8, 8), bool)
    masks[1:, 2:6, 2:6] = True
    has_mask = np.array([False, True, True, True, True])
    predictions = np.array([0, 1, 2, 0, 4])  # patch 3 is wrong, patch 0 is background
    maps = np.zeros((3, 8, 8), np.float32)
    maps[0, 2:6, 2:6] = 1.0
    maps[1, 2:6, 2:4] = 1.0  # half the mask
    # maps[2] stays zero: counted, not scored
    explainer = _Fixed(maps)
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 5))
    result = localisation_scores(model, explainer, {"iou": iou, "relevance-mass": relevance_mass}, "iou", Threshold(),
                                 split, masks, has_mask, predictions, ImageNetNormaliser(), batch_size=2)
    assert explainer.calls == [[1, 2], [4]]  # the predicted class is the target
    assert result["n_correct_lesions"] == 3 and result["n_zero_maps"] == 1 and result["n_scored"] == 2
    assert result["patch_index"] == [1, 2] and result["zero_map_index"] == [4]
    assert result["ll"] == (1.0 + 0.5) / 2 and result["scores"] == [1.0, 0.5]
    assert result["metrics"]["relevance-mass"] == {"mean": 1.0, "scores": [1.0, 1.0]}
