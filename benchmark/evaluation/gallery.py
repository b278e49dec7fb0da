"""The examples behind the report's saliency gallery, chosen and explained at evaluation
time and stored with the run (``gallery-<explainer>.npz``), so that ``cbis-bench report``
draws them without the model.

Three rows per explainer: the correctly classified lesion patches with the highest LL
score, those with the lowest, and the misclassified lesion patches the model was most
sure of (explained for the class it predicted: what it looked at when it went wrong).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.plugin_types import Explainer
from benchmark.spec.schema import Threshold

if TYPE_CHECKING:  # the report draws galleries without torch: imports stay in gallery_arrays
    from benchmark.evaluation.localisation import Explained

#: row of each example in the gallery
CATEGORIES = ("correct, highest score", "correct, lowest score", "incorrect, most confident")


def choose_examples(
    scores: dict[str, Any], has_mask: np.ndarray, labels: np.ndarray, proba: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split positions and category (index into :data:`CATEGORIES`) of the examples."""
    scored = np.asarray(scores["patch_index"], dtype=int)
    ll = np.asarray(scores["scores"], dtype=float)
    order = scored[np.argsort(-ll, kind="stable")]
    best = order[:k]
    worst = np.array([i for i in order[::-1][:k] if i not in best], dtype=int)  # lowest first, no repeats
    predictions = proba.argmax(axis=1)
    wrong = np.flatnonzero(has_mask & (predictions != labels))
    wrong = wrong[np.argsort(-proba[wrong, predictions[wrong]], kind="stable")][:k]
    positions = np.concatenate([best, worst, wrong]).astype(int)
    category = np.repeat(np.arange(3, dtype=np.int8), [len(best), len(worst), len(wrong)])
    return positions, category


def gallery_arrays(
    explainer: Explainer,
    test: Explained,
    ll_metric: Callable[..., np.ndarray],
    threshold: Threshold,
    positions: np.ndarray,
    category: np.ndarray,
    proba: np.ndarray,
    patch_ids: np.ndarray,
) -> dict[str, np.ndarray]:
    """Patches, masks, maps (float16), classes and LL score of the chosen examples
    (each explained for its predicted class)."""
    import torch

    from benchmark.evaluation.localisation import score_maps

    predictions = test.predictions
    maps = test.maps(explainer, positions)
    chosen_masks = np.asarray(test.masks[positions], dtype=bool)
    score = score_maps(maps, chosen_masks, {"ll": ll_metric}, threshold)["ll"]
    split = test.split
    return {
        "images": split.images[torch.as_tensor(positions, device=split.images.device)].squeeze(1).cpu().numpy(),
        "masks": chosen_masks,
        "maps": maps.astype(np.float16),
        "label": split.labels.cpu().numpy()[positions].astype(np.int8),
        "prediction": predictions[positions].astype(np.int8),
        "confidence": proba[positions, predictions[positions]].astype(np.float32),
        "score": np.asarray(score, dtype=np.float32),
        "category": category,
        "patch_id": np.asarray(patch_ids)[positions].astype(np.int64),
    }


def verdict_gallery_arrays(
    test: Explained,
    correct: np.ndarray,
    maps: np.ndarray,
    verdicts: Any,
    drop_random: np.ndarray,
    k: int,
    patch_ids: np.ndarray,
) -> dict[str, np.ndarray]:
    """Up to ``k`` lesions of each verdict group (``records.VERDICT_GROUPS``), the ones that
    show their group most clearly first (the largest margins of IoU over the control and
    of drop over the random removals, in the group's direction)."""
    import torch

    group = np.asarray(verdicts.groups(), dtype=np.int8)
    iou, bar = np.asarray(verdicts.iou), np.asarray(verdicts.control_iou)
    drop, chance = np.asarray(verdicts.drop_top), np.asarray(drop_random)
    localised = np.asarray(verdicts.localised)
    faithful = np.asarray(verdicts.faithful)
    clarity = np.where(localised, iou - bar, bar - iou) + np.where(faithful, drop - chance, chance - drop)
    chosen = np.concatenate(
        [np.flatnonzero(group == g)[np.argsort(-clarity[group == g], kind="stable")][:k] for g in range(4)]
    ).astype(int)
    positions = correct[chosen]
    split = test.split
    return {
        "images": split.images[torch.as_tensor(positions, device=split.images.device)].squeeze(1).cpu().numpy(),
        "masks": np.asarray(test.masks[positions], dtype=bool),
        "maps": np.asarray(maps[chosen]).astype(np.float16),
        "group": group[chosen],
        "iou": iou[chosen].astype(np.float32),
        "control_iou": bar[chosen].astype(np.float32),
        "drop_top": drop[chosen].astype(np.float32),
        "drop_random": chance[chosen].astype(np.float32),
        "patch_id": np.asarray(patch_ids)[positions].astype(np.int64),
    }
