"""Early stopping on validation loss and the checkpoint it carries (the study: patience 7,
minimum improvement 0.01; "the best checkpoint" carried from phase to phase).

The two work as PyTorch Lightning's ``EarlyStopping(monitor="val_loss")`` and
``ModelCheckpoint(monitor="val_loss", mode="min")`` do side by side:

* the carried checkpoint is the epoch with the **lowest** validation loss so far, however
  small its gain;
* ``min_delta`` only decides when patience runs out: an epoch resets the patience count
  when its loss is below the loss of the last epoch that reset it by more than
  ``min_delta``; training stops after ``patience`` epochs without such an epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class EarlyStopping:
    patience: int = 7
    min_delta: float = 0.01
    best: float = math.inf  # lowest loss seen: the carried checkpoint's
    best_epoch: int = -1
    reference: float = math.inf  # loss of the last epoch that reset the patience count
    waited: int = 0

    def step(self, loss: float, epoch: int) -> bool:
        """Record one epoch's loss; True when it is the new lowest (its weights are carried)."""
        if loss < self.reference - self.min_delta:
            self.reference, self.waited = loss, 0
        else:
            self.waited += 1
        if loss < self.best:
            self.best, self.best_epoch = loss, epoch
            return True
        return False

    @property
    def should_stop(self) -> bool:
        return self.waited >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "reference": self.reference, "waited": self.waited}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.waited = state["best"], state["best_epoch"], state["waited"]
        self.reference = state.get("reference", state["best"])
