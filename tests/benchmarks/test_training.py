"""One training step of the harness (``benchmark/training/loop.py``): a batch of 16
resident uint8 patches of 96 x 96 indexed, cast, normalised, flipped, then forward,
cross-entropy, backward and an Adam step over the simultaneous strategy's groups, on
the tiny timm backbone, CPU, fp32."""

from __future__ import annotations

from typing import Any

import torch

from tests.benchmarks.conftest import BACKBONE, CLASSES, grey_patches

BATCH, SIZE = 16, 96


def test_one_training_step(benchmark, registries: Any, normaliser: Any) -> None:
    from benchmark.registry.calls import build_backbone, make_phases
    from benchmark.spec.schema import HParams, Training
    from benchmark.training.device_data import DeviceSplit
    from benchmark.training.freezing import frozen_groups
    from benchmark.training.loop import Trainer

    backbone = build_backbone(registries, BACKBONE, num_classes=CLASSES, pretrained=False)  # its own: it trains
    hparams = HParams(batch_size=BATCH)
    phase = make_phases(registries, "simultaneous", backbone, frozen_groups(backbone), hparams)[-1]
    split = DeviceSplit.from_arrays(*grey_patches(BATCH, SIZE), torch.device("cpu"))  # one batch: one step
    config = Training(device="cpu", augment=["hflip"])
    trainer = Trainer(
        backbone.model,
        backbone.groups,
        [phase],
        normaliser,
        split,
        split,
        hparams,
        config,
        torch.Generator().manual_seed(0),
    )
    optimizer = trainer._optimizer(phase)
    loss, accuracy = benchmark.pedantic(
        trainer._train_epoch, args=(optimizer, set(phase.learning_rates)), rounds=10, warmup_rounds=1
    )
    assert loss > 0 and 0 <= accuracy <= 1
