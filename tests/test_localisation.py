"""The LL score: IoU of the thresholded map with the mask, on correctly classified lesion
patches, with all-zero maps counted and not scored."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from benchmark.evaluation.localisation import localisation_score
from benchmark.training.device_data import DeviceSplit
from plugins.localisation import iou
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
    result = localisation_score(model, explainer, iou, {"threshold": 0.5}, split, masks, has_mask, predictions,
                                ImageNetNormaliser(), batch_size=2)
    assert explainer.calls == [[1, 2], [4]]  # the predicted class is the target
    assert result["n_correct_lesions"] == 3 and result["n_zero_maps"] == 1 and result["n_scored"] == 2
    assert result["patch_index"] == [1, 2]
    assert result["ll"] == (1.0 + 0.5) / 2
