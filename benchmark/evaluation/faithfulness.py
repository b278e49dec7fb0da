"""Faithfulness: the spec's faithfulness metrics (plugins) on one explainer's maps.

The core calls each metric on batches of the chosen patches, as network input on the
model's device, with the maps and the predicted class as target, the model in eval mode
without gradients in fp32, and checks what comes back (``registry/calls.py``). Every
explainer and every control is scored on the same patches, so their scores pair.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from benchmark.evaluation.records import FaithfulnessScores
from benchmark.plugin_types import Normaliser
from benchmark.registry.calls import CheckedFaithfulness
from benchmark.training.device_data import DeviceSplit, to_input


def network_input(split: DeviceSplit, positions: np.ndarray, normaliser: Normaliser) -> torch.Tensor:
    """The patches at ``positions`` as normalised network input on the split's device."""
    idx = torch.as_tensor(np.asarray(positions, dtype=np.int64), device=split.images.device)
    return to_input(split.images[idx], split.labels[idx], normaliser)


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def faithfulness_scores(
    metrics: Mapping[str, CheckedFaithfulness],
    model: torch.nn.Module,
    split: DeviceSplit,
    positions: np.ndarray,
    maps: np.ndarray,
    targets: np.ndarray,
    normaliser: Normaliser,
    batch_size: int,
) -> tuple[dict[str, FaithfulnessScores], dict[str, list[float]]]:
    """Metric name -> the scores of ``maps`` (one per patch at ``positions``, explained
    for ``targets``) with the metric's mean curve; and metric name -> its curve's steps."""
    device = split.images.device
    scores: dict[str, list[np.ndarray]] = {name: [] for name in metrics}
    curves: dict[str, list[np.ndarray]] = {name: [] for name in metrics}
    steps: dict[str, list[float]] = {name: [] for name in metrics}
    model.eval()
    with torch.no_grad(), torch.autocast(device_type="cuda", enabled=False):
        for start in range(0, len(positions), batch_size):
            chunk = slice(start, start + batch_size)
            inputs = network_input(split, positions[chunk], normaliser)
            batch_maps = torch.as_tensor(np.asarray(maps[chunk], dtype=np.float32), device=device)
            batch_targets = torch.as_tensor(np.asarray(targets[chunk], dtype=np.int64), device=device)
            for name, metric in metrics.items():
                out = metric(model, inputs, batch_maps, batch_targets)
                scores[name].append(np.asarray(out.scores, dtype=float))
                if out.curve is not None:
                    curves[name].append(np.asarray(out.curve, dtype=float))
                    steps[name] = list(out.steps)
    out_records = {}
    for name in metrics:
        values = np.concatenate(scores[name]) if scores[name] else np.zeros(0)
        curve = np.concatenate(curves[name]).mean(axis=0) if curves[name] else np.zeros(0)
        out_records[name] = FaithfulnessScores(
            mean=_mean(values), scores=[round(float(v), 6) for v in values], curve=[round(float(v), 6) for v in curve]
        )
    return out_records, steps
