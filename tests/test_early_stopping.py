"""Which epoch is carried: the lowest validation loss (as a Lightning checkpoint on
``val_loss`` keeps it), while ``min_delta`` only decides when patience runs out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from benchmark.plugin_types import LayerGroup, Phase
from benchmark.spec.schema import EarlyStopping as EarlyStoppingSpec
from benchmark.spec.schema import HParams, Training
from benchmark.training.device_data import DeviceSplit
from benchmark.training.early_stopping import EarlyStopping
from benchmark.training.loop import Trainer
from plugins.normalisers import ImageNetNormaliser


def test_small_gains_move_the_checkpoint_but_not_the_patience() -> None:
    stopper = EarlyStopping(patience=2, min_delta=0.01)
    carried = [stopper.step(loss, epoch) for epoch, loss in enumerate([1.0, 0.995, 0.992, 0.991], 1)]
    assert carried == [True, True, True, True]  # each is the lowest so far
    assert stopper.best_epoch == 4 and stopper.should_stop  # none beat 1.0 by more than 0.01
    stopper = EarlyStopping(patience=2, min_delta=0.01)
    for epoch, loss in enumerate([1.0, 0.98, 1.2, 0.985], 1):
        stopper.step(loss, epoch)
    assert stopper.best_epoch == 2 and stopper.waited == 2 and stopper.should_stop


def _scripted_trainer(
    losses: list[float], patience: int, min_delta: float, phases: int = 1
) -> tuple[Trainer, list[int]]:
    """A trainer whose epoch k sets the head's bias to k and whose validation loss is
    ``losses[k - 1]``: the carried epoch can be read off the weights."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))
    images = np.zeros((4, 2, 2), np.uint8)
    split = DeviceSplit.from_arrays(images, np.arange(4) % 5, torch.device("cpu"))
    config = Training(max_epochs=len(losses), early_stopping=EarlyStoppingSpec(patience=patience, min_delta=min_delta))
    trainer = Trainer(
        model,
        [LayerGroup("head", [model[1]])],
        [Phase(f"p{i}", {0: 0.1}) for i in range(phases)],
        ImageNetNormaliser(),
        split,
        split,
        HParams(batch_size=2),
        config,
        torch.Generator().manual_seed(0),
    )
    epochs: list[int] = []

    def train_epoch(
        optimizer: torch.optim.Optimizer, trainable: set[int], extra_loss: object = None
    ) -> tuple[float, float]:
        epochs.append(len(epochs) + 1)
        with torch.no_grad():
            model[1].bias.fill_(float(epochs[-1]))
        return 0.0, 0.0

    trainer._train_epoch = train_epoch  # type: ignore[method-assign]
    trainer.evaluate = lambda split: (losses[len(epochs) - 1], 0.0)  # type: ignore[method-assign]
    return trainer, epochs


@pytest.mark.parametrize(
    ("losses", "carried", "ran"),
    [
        ([1.0, 0.995, 0.992, 0.991, 0.9905, 0.7], 5, 5),  # small gains: stops at 5 (patience 4), carries 5 not 1
        ([1.0, 0.9, 0.95, 0.89, 0.95, 0.96, 0.97, 0.99], 4, 6),  # 0.89 beats 0.9 by less than min_delta
        ([1.0, 0.5, 0.6, 0.7, 0.8, 0.9], 2, 6),  # a clear best, then worse
    ],
)
def test_the_carried_epoch_is_the_lowest_validation_loss(losses: list[float], carried: int, ran: int) -> None:
    trainer, epochs = _scripted_trainer(losses, patience=4, min_delta=0.01)
    fit = trainer.fit()
    assert len(epochs) == ran
    assert fit.best_epoch == carried and fit.best_val_loss == losses[carried - 1]
    assert float(trainer.model[1].bias[0].detach()) == carried  # the weights of that epoch, not the last
    assert [h.improved for h in fit.history].index(True) == 0


def test_a_phase_that_never_beats_the_weights_it_started_from_hands_them_on() -> None:
    """Phase 1 reaches 0.5 at epoch 2; phase 2 (epochs 4-6) never goes below 0.6: the
    final model is epoch 2's, as gradual unfreezing must not end on a worse model."""
    losses = [1.0, 0.5, 0.55] + [0.8, 0.6, 0.7, 0.9]
    trainer, epochs = _scripted_trainer(losses, patience=1, min_delta=0.01, phases=2)
    trainer.config = trainer.config.model_copy(update={"max_epochs": 4})
    fit = trainer.fit()
    assert len(epochs) == 6  # phase 1 stops at 3 (patience 1), phase 2 at 6
    assert fit.phase_best_epochs == [2, 2] and fit.best_epoch == 2 and fit.best_val_loss == 0.5
    assert float(trainer.model[1].bias[0].detach()) == 2
