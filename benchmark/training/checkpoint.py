"""Training checkpoints for resuming a killed run: written atomically, read back whole.

A checkpoint holds everything the next epoch depends on: weights, optimiser, early
stopping, the best weights of the current phase, the history so far and every random
generator's state, so a resumed CPU run ends with the same weights as one never stopped.
Once training has finished, the last checkpoint says so (``phase_index`` past the last
phase): a run whose evaluation failed is evaluated again without training again.

Checkpoints hold tensors and plain data only and are read with
``torch.load(weights_only=True)``: the run store may be a shared volume, and a file there
must never be able to run code when loaded.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from benchmark.files import atomic_write


def save(path: Path, state: dict[str, Any]) -> None:
    """Serialised in memory first: a full disk then fails as the plain OSError of a file
    write (torch's own writer would report it as a RuntimeError)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, lambda fh: fh.write(buffer.getbuffer()))


def load(path: Path) -> dict[str, Any] | None:
    """The checkpoint, or None when there is none or it cannot be read safely (a corrupt
    or foreign file is as good as none: the run starts over)."""
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    state: dict[str, Any] = {"shuffle": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(generator: torch.Generator, state: dict[str, Any]) -> None:
    generator.set_state(state["shuffle"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
