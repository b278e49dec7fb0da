"""The cascading-randomisation sanity check: Grad-CAM's maps drift away as the model is
randomised from the head down; maps computed from the image alone do not, and are flagged."""

from __future__ import annotations

import copy

import numpy as np
import torch

from benchmark.evaluation.sanity import (
    cascading_randomisation,
    randomise_group,
    spearman_per_patch,
)
from benchmark.plugin_types import Backbone
from benchmark.training.device_data import DeviceSplit
from plugins.backbones.timm_models import timm_backbone
from plugins.explainers.batched_gradcam import BatchedGradCam
from plugins.normalisers import ImageNetNormaliser


class ImageEdges:
    """Saliency from the image alone (gradient magnitude of the input): ignores the model."""

    def __init__(self, backbone: Backbone) -> None:
        pass

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        grey = images.mean(dim=1)
        edges = (grey.diff(dim=1, prepend=grey[:, :1]) ** 2 + grey.diff(dim=2, prepend=grey[:, :, :1]) ** 2).sqrt()
        flat = edges.flatten(1)
        lo, hi = flat.min(1).values[:, None, None], flat.max(1).values[:, None, None]
        return ((edges - lo) / (hi - lo + 1e-7)).numpy()


def test_spearman_per_patch() -> None:
    a = np.random.default_rng(0).random((3, 5, 5))
    b = np.stack([a[0], 1 - a[1], np.zeros((5, 5))])
    assert np.allclose(spearman_per_patch(a, b), [1.0, -1.0, 0.0])  # a constant map shares no ranking


def test_randomising_a_group_changes_it_alone_and_is_seeded() -> None:
    torch.manual_seed(0)
    a = timm_backbone("test_resnet", 5)
    b = copy.deepcopy(a)
    head, stem = a.groups[-1], a.groups[0]
    head_before, stem_before = [p.clone() for p in head.parameters()], [p.clone() for p in stem.parameters()]
    randomise_group(head, seed=3)
    randomise_group(b.groups[-1], seed=3)
    assert all(torch.equal(p, q) for p, q in zip(head.parameters(), b.groups[-1].parameters()))
    assert not any(torch.equal(p, q) for p, q in zip(head.parameters(), head_before))
    assert all(torch.equal(p, q) for p, q in zip(stem.parameters(), stem_before))


def test_cascade_flags_an_explainer_that_ignores_the_model() -> None:
    torch.manual_seed(0)
    backbone = timm_backbone("test_resnet", 5)
    rng = np.random.default_rng(0)
    images = (rng.random((6, 64, 64)) * 255).astype(np.uint8)
    split = DeviceSplit.from_arrays(images, np.zeros(6, int), torch.device("cpu"))
    reference = {k: v.clone() for k, v in backbone.model.state_dict().items()}
    result = cascading_randomisation(backbone, {"gradcam-batched": BatchedGradCam, "edges": ImageEdges}, split,
                                     np.arange(6), np.arange(6) % 5, ImageNetNormaliser(), batch_size=4, seed=0,
                                     flag_above=0.5)
    assert result["steps"] == [g.name for g in reversed(backbone.groups)]
    edges, gradcam = result["explainers"]["edges"], result["explainers"]["gradcam-batched"]
    assert edges["spearman"] == [1.0] * len(result["steps"]) and edges["flagged"]
    assert gradcam["spearman"][-1] < 0.5 and not gradcam["flagged"]
    assert all(torch.equal(v, reference[k]) for k, v in backbone.model.state_dict().items())  # a copy was randomised
