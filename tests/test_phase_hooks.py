"""What a strategy may ask of the training loop beyond learning rates: an extra loss term,
a phase that is one action instead of epochs (a prototype network's projection), and
gradients accumulated over several batches."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from benchmark.plugin_types import LayerGroup, Phase, PhaseContext
from benchmark.spec.schema import EarlyStopping, HParams, Training
from benchmark.training.device_data import DeviceSplit
from benchmark.training.loop import Trainer
from plugins.normalisers import ImageNetNormaliser


def _trainer(phases: list[Phase], hparams: HParams, epochs: int = 1) -> Trainer:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))
    rng = np.random.default_rng(0)
    split = DeviceSplit.from_arrays(
        rng.integers(0, 255, (16, 2, 2), dtype=np.uint8), np.arange(16) % 5, torch.device("cpu")
    )
    config = Training(max_epochs=epochs, early_stopping=EarlyStopping(patience=5, min_delta=0.0))
    return Trainer(
        model,
        [LayerGroup("head", [model[1]])],
        phases,
        ImageNetNormaliser(),
        split,
        split,
        hparams,
        config,
        torch.Generator().manual_seed(0),
    )


def test_accumulated_gradients_step_like_one_larger_batch() -> None:
    big = _trainer([Phase("p", {0: 0.01})], HParams(batch_size=8, lr_head=0.01))
    small = _trainer([Phase("p", {0: 0.01})], HParams(batch_size=4, accumulate=2, lr_head=0.01))
    big.fit()
    small.fit()
    for a, b in zip(big.model.parameters(), small.model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    single = _trainer([Phase("p", {0: 0.01})], HParams(batch_size=4, lr_head=0.01))
    single.fit()
    assert not torch.allclose(single.model[1].weight, big.model[1].weight, atol=1e-6)  # twice the steps


def test_an_extra_loss_and_an_action_phase() -> None:
    calls: dict[str, list] = {"loss": [], "action": []}

    def l1(model: nn.Module, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        calls["loss"].append(len(labels))
        return 0.1 * model[1].weight.abs().sum()

    def zero_bias(context: PhaseContext) -> None:
        seen = sum(len(y) for _, y in context.batches())
        calls["action"].append(seen)
        with torch.no_grad():
            context.model[1].bias.zero_()

    phases = [Phase("warm", {0: 0.05}), Phase("project", {}, action=zero_bias), Phase("sparse", {0: 0.05}, loss=l1)]
    trainer = _trainer(phases, HParams(batch_size=8), epochs=2)
    fit = trainer.fit()
    assert calls["action"] == [16]  # once, over the whole training split
    assert calls["loss"] == [8, 8] * 2  # every batch of the phase that asked for it
    project = [h for h in fit.history if h.phase == "project"]
    assert len(project) == 1 and math.isnan(project[0].train_loss) and project[0].learning_rates == {}
    assert fit.phase_best_epochs[1] == project[0].epoch


def test_a_fixed_schedule_phase_runs_every_epoch_and_carries_its_last_weights() -> None:
    """``carry="last"``: no early stopping, the final weights go on even when an earlier
    epoch (or the weights carried in) had a lower validation loss; ``epochs`` caps it."""
    phases = [Phase("fit", {0: 0.05}), Phase("wild", {0: 5.0}, epochs=3, carry="last")]
    trainer = _trainer(phases, HParams(batch_size=8), epochs=4)
    fit = trainer.fit()
    wild = [h for h in fit.history if h.phase == "wild"]
    assert len(wild) == 3 and [h.improved for h in wild] == [False, False, True]
    assert fit.best_epoch == wild[-1].epoch and fit.best_val_loss == wild[-1].val_loss
    assert fit.phase_best_epochs[-1] == wild[-1].epoch
    val_loss, _ = trainer.evaluate(trainer.val)
    assert math.isclose(val_loss, wild[-1].val_loss, rel_tol=1e-6)  # the model is the last epoch's
