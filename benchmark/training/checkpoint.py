"""Training checkpoints for resuming a killed run: written atomically, read back whole.

A checkpoint holds everything the next epoch depends on: weights, optimiser, early
stopping, the best weights of the current phase, the history so far and every random
generator's state, so a resumed CPU run ends with the same weights as one never stopped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


def save(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # a corrupt checkpoint is as good as none: start over
        return None


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    state = {"shuffle": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(generator: torch.Generator, state: dict[str, Any]) -> None:
    generator.set_state(state["shuffle"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
