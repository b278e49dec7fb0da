"""Augmentation on the training device: flips and quarter turns of whole batches.

Random choices are drawn from the run's CPU generator (the one that shuffles), so a run
is reproducible on any device; the pixel work happens where the batch already is.
Mammogram patches have no canonical orientation, so these are label-preserving.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

AUGMENTATIONS = ("hflip", "vflip", "rot90")


def augment(x: torch.Tensor, names: Sequence[str], generator: torch.Generator) -> torch.Tensor:
    """Apply each named augmentation to a random half (flips) or quarter (turns) of ``x``."""
    if not names:
        return x
    n = x.shape[0]
    for name in names:
        if name == "hflip":
            pick = (torch.rand(n, generator=generator) < 0.5).to(x.device)
            x = torch.where(pick.view(-1, 1, 1, 1), x.flip(-1), x)
        elif name == "vflip":
            pick = (torch.rand(n, generator=generator) < 0.5).to(x.device)
            x = torch.where(pick.view(-1, 1, 1, 1), x.flip(-2), x)
        elif name == "rot90" and x.shape[-1] == x.shape[-2]:
            turns = torch.randint(0, 4, (n,), generator=generator).to(x.device)
            out = x.clone()
            for k in (1, 2, 3):
                sel = turns == k
                if bool(sel.any()):
                    out[sel] = torch.rot90(x[sel], k, dims=(-2, -1))
            x = out
    return x
