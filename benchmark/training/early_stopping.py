"""Early stopping on validation loss (the study: patience 7, minimum improvement 0.01)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class EarlyStopping:
    """An epoch improves when its loss is below the best so far by more than
    ``min_delta``; training stops after ``patience`` epochs without improvement."""

    patience: int = 7
    min_delta: float = 0.01
    best: float = math.inf
    best_epoch: int = -1
    waited: int = 0

    def step(self, loss: float, epoch: int) -> bool:
        """Record one epoch's loss; True when it is the new best."""
        if loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.waited = loss, epoch, 0
            return True
        self.waited += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.waited >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "waited": self.waited}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.waited = state["best"], state["best_epoch"], state["waited"]
