"""One verdict per lesion: is this correctly classified lesion's map *localised* (its
region overlaps the mask better than the strongest model-free control's does on the
same patch) and *faithful* (the model needs what it highlights)?

Faithful is decided by removal, as ROAD removes (noisy linear imputation): the drop in
the predicted class's probability when the map's top ``removal`` % of pixels are removed,
against the mean drop when the top ``removal`` % of smooth random maps are removed
instead (blobs of the same share, placed without looking; ``draws`` of them, the same
for every explainer). Scattered random pixels would be the easier bar: interpolation
restores them almost perfectly, so any contiguous map would beat it.

The four groups (both, localised only, faithful only, neither) separate a model that
looks at the lesion and uses it from one that uses something else (a marker beside the
lesion: faithful, not localised) and from a map that overlaps the lesion without the
model needing it (localised, not faithful).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from benchmark.evaluation.faithfulness import network_input
from benchmark.evaluation.imputation import noisy_linear_imputation, removal_masks, smooth_random_maps
from benchmark.evaluation.predict import target_probability
from benchmark.evaluation.records import ExplainerVerdicts, Verdicts
from benchmark.plugin_types import Normaliser
from benchmark.spec.schema import Verdict
from benchmark.training.device_data import DeviceSplit

#: grid side of the random removal maps (as the ``random`` control draws them)
RANDOM_CELLS = 4


def removal_drops(
    model: torch.nn.Module,
    split: DeviceSplit,
    positions: np.ndarray,
    maps: np.ndarray | torch.Tensor,
    targets: np.ndarray,
    normaliser: Normaliser,
    removal: float,
    seed: int,
    batch_size: int,
) -> np.ndarray:
    """Per patch: the target probability minus the probability once the top ``removal``
    % of its map's pixels are removed (noisy linear imputation, seeded)."""
    device = split.images.device
    generator = torch.Generator().manual_seed(seed)
    out = []
    model.eval()
    with torch.no_grad(), torch.autocast(device_type="cuda", enabled=False):
        for start in range(0, len(positions), batch_size):
            chunk = slice(start, start + batch_size)
            inputs = network_input(split, positions[chunk], normaliser)
            target = torch.as_tensor(np.asarray(targets[chunk], dtype=np.int64), device=device)
            removed = removal_masks(
                torch.as_tensor(maps[chunk], dtype=torch.float32, device=device), removal, True, generator
            )
            after = target_probability(
                model, noisy_linear_imputation(inputs, removed, generator=generator), target, batch_size
            )
            out.append((target_probability(model, inputs, target, batch_size) - after).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def random_removal_drops(
    model: torch.nn.Module,
    split: DeviceSplit,
    positions: np.ndarray,
    targets: np.ndarray,
    normaliser: Normaliser,
    config: Verdict,
    batch_size: int,
) -> np.ndarray:
    """Per patch: the mean drop over ``config.draws`` removals of smooth random maps' top pixels."""
    size = (split.images.shape[-2], split.images.shape[-1])
    rng = np.random.default_rng(config.seed)
    drops = []
    for draw in range(config.draws):
        maps = smooth_random_maps(rng.random((len(positions), 1, RANDOM_CELLS, RANDOM_CELLS), dtype=np.float32), size)
        drops.append(
            removal_drops(
                model, split, positions, maps, targets, normaliser, config.removal, config.seed + 1 + draw, batch_size
            )
        )
    return np.mean(drops, axis=0) if drops else np.zeros(len(positions))


def lesion_verdicts(
    config: Verdict,
    metric: str,
    patch_ids: np.ndarray,
    iou: Mapping[str, np.ndarray],
    control_iou: Mapping[str, np.ndarray],
    drop_top: Mapping[str, np.ndarray],
    drop_random: np.ndarray,
) -> Verdicts:
    """Each explainer of ``iou`` against the strongest control (the highest mean IoU under
    the verdict's rule on these lesions) and against the random removals (``drop_top``
    holds the controls' drops too: their share of "faithful" lesions is recorded)."""
    strongest = max(
        control_iou, key=lambda c: float(np.mean(control_iou[c])) if len(control_iou[c]) else -1.0, default=None
    )
    bar = control_iou[strongest] if strongest is not None else np.zeros(len(patch_ids))
    explainers = {}
    for name, scores in iou.items():
        explainers[name] = ExplainerVerdicts(
            control=strongest,
            iou=_rounded(scores),
            control_iou=_rounded(bar),
            drop_top=_rounded(drop_top[name]),
            localised=[bool(v) for v in scores > bar + config.margin],
            faithful=[bool(v) for v in drop_top[name] > drop_random + config.faithful_margin],
        )
    beaten = {
        c: round(float(np.mean(drop_top[c] > drop_random + config.faithful_margin)), 6)
        for c in control_iou
        if c in drop_top and len(drop_random)
    }
    return Verdicts(
        metric=metric,
        threshold=config.threshold.model_dump(),
        margin=config.margin,
        removal=config.removal,
        faithful_margin=config.faithful_margin,
        draws=config.draws,
        patch_index=[int(p) for p in patch_ids],
        drop_random=_rounded(drop_random),
        explainers=explainers,
        control_faithful=beaten,
    )


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in np.asarray(values, dtype=float)]
