"""One epoch of training as the loop records it, the loggers receive it and the result
stores it: one record, from the loop to ``results.json``."""

from __future__ import annotations

from benchmark.record import Record


class Epoch(Record):
    """An epoch's losses and accuracies (NaN while training, stored as None: a diverged
    run, or a phase's action that trains nothing) and how early stopping saw it."""

    epoch: int  # 1-based over the whole run
    phase: str
    phase_index: int
    phase_epoch: int
    train_loss: float | None
    train_accuracy: float | None
    val_loss: float | None
    val_accuracy: float
    learning_rates: dict[str, float]
    improved: bool  # the lowest validation loss so far: these weights are carried
    waited: int = 0  # epochs since the loss last fell by more than min_delta (patience used)
