"""Evaluate a trained run on the test split: predictions, metrics, localisation, sanity.

Returns the ``test``, ``localisation`` and ``predictions`` parts of a run's result, and
the gallery arrays that are stored beside it (one set per explainer). Per-patch scores
are kept in the result so that intervals and comparisons are computed at report time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmark.data.classes import CLASSES
from benchmark.evaluation.gallery import choose_examples, gallery_arrays
from benchmark.evaluation.localisation import correct_lesions, localisation_scores
from benchmark.evaluation.metrics import classification_metrics
from benchmark.evaluation.predict import predict_proba
from benchmark.evaluation.sanity import cascading_randomisation, sanity_patches
from benchmark.plugin_loading import Registries
from benchmark.spec.schema import Spec
from benchmark.training.session import TrainedRun


@dataclass
class Evaluation:
    """What the evaluation stage adds to a run's result, and the arrays stored beside it."""

    result: dict[str, Any]
    gallery: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def evaluate_run(trained: TrainedRun, spec: Spec, table: pd.DataFrame, masks: np.ndarray, regs: Registries) -> Evaluation:
    test_idx = trained.indices["test"]
    labels = table["label"].to_numpy()[test_idx]
    model, normaliser, split = trained.backbone.model, trained.normaliser, trained.splits["test"]
    proba = predict_proba(model, split, normaliser, spec.training.eval_batch_size)
    predictions = proba.argmax(1)

    ex = spec.explain
    loc = ex.localisation
    metric_names = list(dict.fromkeys([loc.metric, *loc.metrics]))
    metrics = {name: regs.get("localisation", name).obj for name in metric_names}
    test_masks = np.asarray(masks[test_idx])
    has_mask = table["has_mask"].to_numpy()[test_idx].astype(bool)
    factories = {name: regs.get("explainer", name).obj for name in ex.scored_explainers()}

    explainers, gallery = {}, {}
    for name, make in factories.items():
        explainer = make(trained.backbone)
        scores = localisation_scores(model, explainer, metrics, loc.metric, loc.threshold, split, test_masks, has_mask,
                                     predictions, normaliser, ex.batch_size)
        if name != ex.baseline and ex.gallery:
            positions, category = choose_examples(scores, has_mask, labels, proba, ex.gallery)
            gallery[name] = gallery_arrays(model, explainer, metrics[loc.metric], loc.threshold, split, test_masks,
                                           positions, category, proba, test_idx, normaliser, ex.batch_size)
        for key in ("patch_index", "zero_map_index"):
            scores[key] = [int(test_idx[i]) for i in scores[key]]
        explainers[name] = scores

    localisation: dict[str, Any] = {"metric": loc.metric, "threshold": loc.threshold.model_dump(), "metrics": metric_names,
                                    "baseline": ex.baseline, "explainers": explainers}
    if ex.sanity.enabled:
        checked = {name: make for name, make in factories.items() if name != ex.baseline}
        positions = sanity_patches(correct_lesions(has_mask, predictions, labels), ex.sanity.patches)
        localisation["sanity"] = cascading_randomisation(
            trained.backbone, checked, split, positions, predictions[positions], normaliser, ex.batch_size,
            ex.sanity.seed, ex.sanity.flag_above) if len(positions) else None
    result = {
        "test": classification_metrics(labels, proba, CLASSES),
        "localisation": localisation,
        "predictions": {"patch_id": [int(i) for i in test_idx], "label": [int(v) for v in labels],
                        "proba": np.round(proba, 6).tolist()},
    }
    return Evaluation(result, gallery)
