"""benchmark.api.testing: each checker passes a built-in plugin and the example package's
items, and fails a deliberately broken plugin with a message that says what is wrong and
what the contract expects."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from benchmark.api import Backbone, LayerGroup, Phase, build_backbone
from benchmark.api.testing import (
    ContractError,
    check_backbone,
    check_explainer,
    check_faithfulness,
    check_metric,
    check_normaliser,
    check_strategy,
)
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def resnet() -> Backbone:
    return build_backbone("timm/test_resnet", 5)


@pytest.fixture(scope="module")
def my_plugins(pytestconfig: pytest.Config):
    """The example package's module, imported from its folder (as its own tests would)."""
    sys.path.insert(0, str(ROOT / "examples" / "my-plugins"))
    try:
        import my_plugins

        yield my_plugins
    finally:
        sys.path.remove(str(ROOT / "examples" / "my-plugins"))
        sys.modules.pop("my_plugins", None)


# --------------------------------------------------------------------------- passing
def test_every_checker_passes_a_built_in_plugin(resnet: Backbone) -> None:
    reports = [
        check_backbone("timm/test_resnet"),
        check_explainer("gradcam-batched", backbone=resnet),
        check_metric("iou"),
        check_faithfulness("road-morf", backbone=resnet),
        check_normaliser("dataset"),
        check_normaliser("per-class"),
        check_strategy("simultaneous", backbone=resnet),
    ]
    assert [r.kind for r in reports] == [
        "backbone",
        "explainer",
        "localisation",
        "faithfulness",
        "normaliser",
        "normaliser",
        "strategy",
    ]
    assert reports[0].plugin == "backbone 'timm/test_resnet' (plugin 'backbones', built-in)"
    assert "logits of shape (2, 5)" in reports[0].checked
    assert "phases head+final-half name existing groups at positive rates" in reports[-1].checked


def test_the_example_package_passes_every_checker(my_plugins) -> None:
    """What the example's author would write: the objects themselves, before registering."""
    tiny = my_plugins.tiny_net
    assert check_backbone(tiny, options_model=my_plugins.TinyNetOptions, width=8).plugin.startswith(
        "backbone 'tiny_net' (plugin 'my_plugins'"
    )
    check_explainer(my_plugins.InputGradient, backbone=tiny)
    check_metric(my_plugins.centre_of_mass)
    check_faithfulness(my_plugins.top_decile_drop, backbone=tiny)
    check_normaliser(my_plugins.PerImage)
    check_strategy(my_plugins.head_then_all, backbone=tiny, hparams={"lr_head": 1e-3})


def test_a_default_backbone_is_used_when_none_is_given() -> None:
    assert check_strategy("gradual-unfreezing").checked[-1].startswith("phases head, head+stage4")


# --------------------------------------------------------------------------- broken backbones
def _net(outputs: int) -> tuple[nn.Module, nn.Module, nn.Module]:
    stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, outputs))
    return nn.Sequential(stem, head), stem, head


def leaky_net(num_classes: int, pretrained: bool = False) -> Backbone:
    """The stem's group names only its convolution: the BatchNorm belongs to no group."""
    model, stem, head = _net(num_classes)
    return Backbone(model, [LayerGroup("stem", [stem[0]]), LayerGroup("head", [head])], target_layer=stem[-1])


def three_way_net(num_classes: int, pretrained: bool = False) -> Backbone:
    """Ignores num_classes: always three outputs."""
    model, stem, head = _net(3)
    return Backbone(model, [LayerGroup("stem", [stem]), LayerGroup("head", [head])], target_layer=stem[-1])


def test_a_backbone_whose_groups_miss_a_parameter_is_named_with_the_parameter() -> None:
    with pytest.raises(ContractError) as failed:
        check_backbone(leaky_net)
    message = str(failed.value)
    assert message.startswith("backbone 'leaky_net' (plugin 'tests.test_api_testing'")
    assert "parameters in no layer group: 0.1.weight, 0.1.bias" in message
    assert "every parameter must be in exactly one group" in message


def test_a_backbone_with_the_wrong_number_of_outputs_says_how_many_it_should_have() -> None:
    with pytest.raises(
        ContractError,
        match=r"the classifier's output has shape \(2, 3\), expected \(2, 5\) "
        r"for 5 classes",
    ):
        check_backbone(three_way_net)
    assert check_backbone(three_way_net, num_classes=3).kind == "backbone"  # right when 3 are asked for


def test_a_backbone_refused_by_the_gate_or_its_options_model_fails_the_check(my_plugins) -> None:
    def no_classes(pretrained: bool = False) -> Backbone:
        raise NotImplementedError

    with pytest.raises(
        ContractError,
        match="its signature does not fit; a backbone is a callable "
        r"\(num_classes, pretrained",
    ):
        check_backbone(no_classes)
    with pytest.raises(ContractError, match="(?s)invalid options.*multiple of 2"):
        check_backbone(my_plugins.tiny_net, options_model=my_plugins.TinyNetOptions, width=7)
    with pytest.raises(ContractError, match="Unknown backbone 'timm-test_resnet'.*Did you mean"):
        check_backbone("timm-test_resnet")
    assert issubclass(ContractError, AssertionError)


# --------------------------------------------------------------------------- broken explainers
class HalfSize:
    """Maps at half the input's resolution (forgot to upsample)."""

    def __init__(self, backbone: Backbone) -> None:
        pass

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        return np.zeros((len(images), images.shape[2] // 2, images.shape[3] // 2), np.float32)


class Unscaled:
    """The normalised input's first channel: values well outside [0, 1]."""

    def __init__(self, backbone: Backbone) -> None:
        pass

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return images[:, 0]


def test_an_explainer_returning_maps_of_the_wrong_shape_is_told_the_shape_expected(resnet: Backbone) -> None:
    with pytest.raises(
        ContractError,
        match=r"explainer 'HalfSize' .* returned maps of shape \(2, 32, 32\); "
        r"expected \(2, 64, 64\): one map per image, at the input's height",
    ):
        check_explainer(HalfSize, backbone=resnet)


def test_an_explainer_returning_values_outside_0_1_is_told_the_range(resnet: Backbone) -> None:
    with pytest.raises(
        ContractError,
        match=r"explainer 'Unscaled' .* outside \[0, 1\].*: from -\d.* to \d.*; "
        r"every map must be finite and lie in \[0, 1\]",
    ):
        check_explainer(Unscaled, backbone=resnet)


def test_an_explainer_that_declines_the_backbone_is_asked_for_another(resnet: Backbone) -> None:
    with pytest.raises(ContractError, match="explainer 'prototype-activation'.*declined the backbone.*backbone=..."):
        check_explainer("prototype-activation", backbone=resnet)


# --------------------------------------------------------------------------- broken metrics
def one_too_few(maps: np.ndarray, masks: np.ndarray, threshold=None) -> np.ndarray:
    return np.ones(len(maps) - 1)


def share_of_map(maps: np.ndarray, masks: np.ndarray, threshold=None) -> np.ndarray:
    """Saliency in the mask over all saliency: 0 / 0 on an all-zero map."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (maps * masks).sum(axis=(1, 2)) / maps.sum(axis=(1, 2))


def no_threshold(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    return np.ones(len(maps))


def test_a_metric_returning_the_wrong_count_is_told_the_count_expected() -> None:
    with pytest.raises(
        ContractError,
        match=r"localisation 'one_too_few' .* must return one finite score per map: "
        r"shape \(6,\), got shape \(5,\)",
    ):
        check_metric(one_too_few)


def test_a_metric_that_fails_on_an_all_zero_map_is_caught() -> None:
    """The harness scores zero maps too (and keeps them at 0): NaN there fails a run."""
    with pytest.raises(ContractError, match=r"share_of_map.*got shape \(6,\) with NaN or inf"):
        check_metric(share_of_map)


def test_a_metric_without_the_threshold_keyword_is_refused_by_the_gate() -> None:
    with pytest.raises(
        ContractError,
        match=r"its signature does not fit; a localisation is a callable "
        r"\(maps, masks, \*, threshold=None\)",
    ):
        check_metric(no_threshold)


# --------------------------------------------------------------------------- broken faithfulness metrics
def one_too_many(model, inputs, maps, targets) -> np.ndarray:
    return np.zeros(len(maps) + 1)


def sideways(model, inputs, maps, targets) -> np.ndarray:
    return np.zeros(len(maps))


sideways.higher_is_better = "yes"


def test_a_faithfulness_metric_with_the_wrong_count_or_orientation_fails(resnet: Backbone) -> None:
    with pytest.raises(ContractError, match=r"faithfulness 'one_too_many' .* shape \(2,\), got shape \(3,\)"):
        check_faithfulness(one_too_many, backbone=resnet)
    with pytest.raises(ContractError, match=r"higher_is_better must be True or False, got 'yes'"):
        check_faithfulness(sideways, backbone=resnet)


# --------------------------------------------------------------------------- broken normalisers
class Greyed:
    """Averages the channels away: (B, 1, H, W) for (B, 3, H, W)."""

    uses_labels = False

    def fit(self, chunks) -> None:
        pass

    def __call__(self, images, labels=None):
        return images.mean(dim=1, keepdim=True)

    def state_dict(self) -> dict:
        return {}


class TensorState(Greyed):
    """Right images, but a tensor in its state (results.json cannot hold it)."""

    def __call__(self, images, labels=None):
        return images - 0.5

    def state_dict(self) -> dict:
        return {"mean": torch.full((3,), 0.5)}


class ZeroDeviation(Greyed):
    """Divides by a deviation it never fitted: 0 / 0 everywhere."""

    def __call__(self, images, labels=None):
        return (images - images) / torch.zeros(())


def test_a_normaliser_changing_the_shape_returning_nan_or_keeping_tensors_in_its_state_fails() -> None:
    with pytest.raises(
        ContractError,
        match=r"normaliser 'Greyed' .* must return finite images of the shape it was "
        r"given, \(4, 3, 32, 32\); got shape \(4, 1, 32, 32\)",
    ):
        check_normaliser(Greyed)
    with pytest.raises(ContractError, match=r"normaliser 'ZeroDeviation' .*; got NaN or inf"):
        check_normaliser(ZeroDeviation)
    with pytest.raises(ContractError, match=r"normaliser 'TensorState' .* state_dict\(\) must hold JSON values only"):
        check_normaliser(TensorState)


# --------------------------------------------------------------------------- broken strategies
def past_the_head(groups, frozen, hparams) -> list[Phase]:
    return [Phase("head", {len(groups): hparams.lr_head})]


def test_a_strategy_naming_a_group_that_does_not_exist_fails(resnet: Backbone) -> None:
    with pytest.raises(
        ContractError,
        match=r"strategy 'past_the_head' .* phase 'head' trains no group, or names "
        r"groups that do not exist or rates that are not positive: \[6\]",
    ):
        check_strategy(past_the_head, backbone=resnet)


# --------------------------------------------------------------------------- import cost
def test_the_checkers_import_without_torch() -> None:
    probe = (
        "import sys; from benchmark.api import testing; "
        "[getattr(testing, n) for n in testing.__all__]; print('torch' in sys.modules, len(testing.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "9"]
