"""The study's strategies on its backbones: which groups train, at which learning rate."""

from __future__ import annotations

import pytest

from benchmark.registry.loading import registries
from benchmark.spec.schema import HParams
from benchmark.training.freezing import frozen_groups
from plugins.strategies import gradual_unfreezing, simultaneous

HP = HParams(batch_size=16, lr_head=1e-4, lr_last_block=3e-5, lr_decay=0.5)


def _paper(name: str):
    return registries().get("backbone", name).obj(num_classes=5, pretrained=False)


@pytest.fixture(scope="module")
def resnet50():
    return _paper("resnet50")


@pytest.fixture(scope="module")
def vgg19():
    return _paper("vgg19")


def _named(backbone, phase) -> dict[str, float]:
    return {backbone.groups[i].name: lr for i, lr in phase.learning_rates.items()}


def test_first_half_of_resnet50_and_vgg19(resnet50, vgg19) -> None:
    assert [g.name for g in resnet50.groups] == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    assert frozen_groups(resnet50) == 3  # stem, stage1, stage2 frozen
    assert [g.name for g in vgg19.groups] == ["block1", "block2", "block3", "block4", "block5", "head"]
    assert frozen_groups(vgg19) == 3  # blocks 1-3 frozen (8 of 16 convolutions)
    assert resnet50.model.head[-1].out_features == 5 and vgg19.model.head[-1].out_features == 5


def test_simultaneous_trains_head_and_final_half_at_per_depth_rates(resnet50, vgg19) -> None:
    (phase,) = simultaneous(resnet50.groups, frozen_groups(resnet50), HP)
    assert _named(resnet50, phase) == {"head": 1e-4, "stage4": 3e-5, "stage3": 1.5e-5}
    (phase,) = simultaneous(vgg19.groups, frozen_groups(vgg19), HP)
    assert _named(vgg19, phase) == {"head": 1e-4, "block5": 3e-5, "block4": 1.5e-5}


def test_gradual_unfreezing_adds_one_deeper_group_per_phase(resnet50, vgg19) -> None:
    for backbone, order in ((resnet50, ["stage4", "stage3"]), (vgg19, ["block5", "block4"])):
        phases = gradual_unfreezing(backbone.groups, frozen_groups(backbone), HP)
        assert [sorted(_named(backbone, p)) for p in phases] == [
            ["head"],
            sorted(["head", order[0]]),
            sorted(["head", *order]),
        ]
        last = _named(backbone, phases[-1])
        assert last == {"head": 1e-4, order[0]: 3e-5, order[1]: 1.5e-5}
        # a group keeps its rate from the phase it joins onward
        assert _named(backbone, phases[1])[order[0]] == 3e-5
