"""Class probabilities for a split, batched on the training device."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from benchmark.plugin_types import Normaliser
from benchmark.training.device_data import DeviceSplit, to_input


@torch.no_grad()
def predict_proba(model: nn.Module, split: DeviceSplit, normaliser: Normaliser, batch_size: int = 64) -> np.ndarray:
    """Softmax probabilities, float64 (N, C), in split order."""
    model.eval()
    cuda = split.images.device.type == "cuda"
    out = []
    for idx in split.batches(batch_size):
        x = to_input(split.images[idx], split.labels[idx], normaliser, cuda)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            logits = model(x).float()
        out.append(torch.softmax(logits, dim=1).double().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 0))


@torch.no_grad()
def target_probability(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 64
) -> torch.Tensor:
    """Softmax probability of each input's ``targets`` class (N,), fp32, on the inputs'
    device: what the faithfulness metrics watch as pixels are removed."""
    model.eval()
    targets = torch.as_tensor(targets, device=inputs.device).long().reshape(-1)
    out = []
    for start in range(0, len(inputs), batch_size):
        logits = model(inputs[start : start + batch_size].float()).float()
        out.append(torch.softmax(logits, dim=1).gather(1, targets[start : start + batch_size, None])[:, 0])
    return torch.cat(out) if out else torch.zeros(0, device=inputs.device)
