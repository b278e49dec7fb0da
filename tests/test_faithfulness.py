"""Faithfulness: ROAD's noisy linear imputation batched on the device solves the same
system as pytorch-grad-cam's (the ROAD authors' code), the ROAD scores agree with
pytorch-grad-cam's on the same maps and inputs, pixels are removed in exactly the share
asked for, a map that points at what the model uses scores as faithful and one that
points elsewhere does not, and a metric's broken output is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmark.errors import PluginOutputError
from benchmark.evaluation.imputation import linear_imputation, noisy_linear_imputation, removal_masks
from benchmark.registry.calls import faithfulness_metric
from benchmark.registry.loading import registries
from plugins.backbones.timm_models import timm_backbone
from plugins.faithfulness.perturbation_curves import deletion, insertion
from plugins.faithfulness.road import road_combined, road_lerf, road_morf

PERCENTILES = [10.0, 30.0, 50.0, 70.0, 90.0]


def _smooth(n: int, size: int, channels: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.avg_pool2d(torch.randn(n, channels, size, size, generator=g), 5, 1, 2)


def _maps(n: int, size: int, seed: int) -> torch.Tensor:
    """Smooth maps in [0, 1] without ties."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, 5, 5, generator=g)
    maps = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)[:, 0]
    maps = maps + 1e-4 * torch.rand(maps.shape, generator=g)
    return (maps - maps.amin((1, 2), keepdim=True)) / (
        maps.amax((1, 2), keepdim=True) - maps.amin((1, 2), keepdim=True)
    )


@pytest.mark.parametrize("grey", [False, True], ids=["rgb", "grey-normalised"])
@pytest.mark.parametrize("percent", [10, 50, 90])
def test_imputation_solves_pytorch_grad_cams_system(grey: bool, percent: int) -> None:
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer

    images = _smooth(3, 40, 1 if grey else 3, seed=percent)
    if grey:  # a grey patch repeated to RGB and normalised per channel: imputed once, through one channel
        images = (images.expand(-1, 3, -1, -1) - torch.tensor([0.4, 0.5, 0.6])[:, None, None]) / torch.tensor(
            [0.2, 0.25, 0.3]
        )[:, None, None]
    removed = removal_masks(_maps(3, 40, seed=1), percent, True, torch.Generator().manual_seed(0))
    reference = torch.stack([NoisyLinearImputer(noise=0.0)(images[i], (~removed[i]).float()) for i in range(3)])
    exact = linear_imputation(images, removed, tolerance=1e-7)
    assert (exact - reference).abs().max() < 1e-4
    assert (linear_imputation(images, removed) - reference).abs().max() < 5e-3  # the default tolerance
    assert torch.equal(exact[~removed[:, None].expand_as(exact)], images[~removed[:, None].expand_as(images)])


def test_noise_is_added_to_the_removed_pixels_only_and_is_seeded() -> None:
    images = _smooth(2, 24, 3, seed=0)
    removed = removal_masks(_maps(2, 24, seed=2), 40, True, torch.Generator().manual_seed(0))
    a = noisy_linear_imputation(images, removed, 0.01, torch.Generator().manual_seed(5))
    b = noisy_linear_imputation(images, removed, 0.01, torch.Generator().manual_seed(5))
    plain = linear_imputation(images, removed)
    assert torch.equal(a, b)
    keep = ~removed[:, None].expand_as(a)
    assert torch.equal(a[keep], images[keep])
    assert 0.005 < (a - plain)[~keep].std() < 0.02


def test_removal_takes_exactly_the_share_asked_for_ties_included() -> None:
    flat = torch.ones(3, 10, 10)  # a constant map: every pixel tied
    for percent in (10, 25, 90):
        removed = removal_masks(flat, percent, True, torch.Generator().manual_seed(0))
        assert removed.sum(dim=(1, 2)).tolist() == [round(percent)] * 3
    ramp = torch.arange(100.0).reshape(1, 10, 10)
    assert removal_masks(ramp, 20, True).reshape(-1).nonzero().squeeze(1).tolist() == list(range(80, 100))
    assert removal_masks(ramp, 20, False).reshape(-1).nonzero().squeeze(1).tolist() == list(range(20))


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return timm_backbone("test_resnet", 5).model.eval()


def test_road_agrees_with_pytorch_grad_cam(model: torch.nn.Module) -> None:
    from pytorch_grad_cam.metrics.perturbation_confidence import (
        PerturbationConfidenceMetric,
        RemoveLeastRelevantFirst,
        RemoveMostRelevantFirst,
    )
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    images, maps = _smooth(4, 48, 3, seed=3), _maps(4, 48, seed=4)
    with torch.no_grad():
        targets = model(images).argmax(1)
    theirs = {}
    for name, removal in (("morf", RemoveMostRelevantFirst), ("lerf", RemoveLeastRelevantFirst)):
        # pytorch-grad-cam's percentile p keeps the p% least (most) relevant: it removes 100 - p %
        per_step = [
            PerturbationConfidenceMetric(removal(100 - p, NoisyLinearImputer(noise=0.0)))(
                images, maps.numpy(), [ClassifierOutputSoftmaxTarget(int(t)) for t in targets], model
            )
            for p in PERCENTILES
        ]
        theirs[name] = -np.mean(per_step, axis=0)  # theirs: the change in probability; ours: the drop
    options = {"percentiles": PERCENTILES, "noise": 0.0}
    morf = road_morf(model, images, maps, targets, **options)
    lerf = road_lerf(model, images, maps, targets, **options)
    assert np.abs(morf.scores - theirs["morf"]).max() < 5e-3
    assert np.abs(lerf.scores - theirs["lerf"]).max() < 5e-3
    combined = road_combined(model, images, maps, targets, **options)
    assert np.allclose(combined.scores, (morf.scores - lerf.scores) / 2)
    assert morf.curve.shape == (4, len(PERCENTILES)) and list(morf.steps) == PERCENTILES


class CornerModel(torch.nn.Module):
    """Decides from the texture of the top-left quarter of the image alone."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        corner = x[:, :, : x.shape[2] // 2, : x.shape[3] // 2]
        evidence = (corner[..., 1:] - corner[..., :-1]).abs().mean(dim=(1, 2, 3))
        return torch.stack([4 * evidence, torch.zeros_like(evidence)], dim=1)


def test_a_map_on_what_the_model_uses_is_faithful_and_one_elsewhere_is_not() -> None:
    images = torch.zeros(2, 3, 32, 32)
    images[:, :, :16, :16] = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2  # the evidence: a texture
    used = torch.zeros(2, 32, 32)
    used[:, :16, :16] = 1.0
    used = used + 1e-3 * torch.rand(2, 32, 32, generator=torch.Generator().manual_seed(0))
    elsewhere = used.flip(1, 2)
    targets = torch.zeros(2, dtype=torch.long)
    model = CornerModel()
    for metric, better in ((road_morf, 1), (road_lerf, -1), (deletion, 1), (insertion, -1)):
        on, off = metric(model, images, used, targets).scores, metric(model, images, elsewhere, targets).scores
        assert (better * (on - off) > 0.05).all(), metric.__name__
    assert road_lerf.higher_is_better is False and insertion.higher_is_better is False


def test_every_built_in_metric_is_registered_and_checked_by_name() -> None:
    regs = registries()
    assert {"road-morf", "road-lerf", "road-combined", "deletion", "insertion"} <= set(regs["faithfulness"].names())
    metric = faithfulness_metric(regs, "road-lerf")
    assert metric.higher_is_better is False
    from benchmark.registry import Entry

    broken = Entry(
        "broken", "faithfulness", lambda model, inputs, maps, targets: np.zeros(len(maps) + 1), "module test", "test"
    )
    regs["faithfulness"].add(broken)
    with pytest.raises(PluginOutputError, match=r"faithfulness 'broken' \(plugin 'test'.*one finite score per map"):
        faithfulness_metric(regs, "broken")(None, torch.zeros(2, 3, 4, 4), torch.zeros(2, 4, 4), torch.zeros(2))
