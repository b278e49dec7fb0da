"""Evaluate a trained run on the test split: predictions, metrics, localisation.

Returns the ``test``, ``localisation`` and ``predictions`` parts of a run's result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchmark.data.classes import CLASSES
from benchmark.evaluation.localisation import localisation_score
from benchmark.evaluation.metrics import classification_metrics
from benchmark.evaluation.predict import predict_proba
from benchmark.plugin_loading import Registries
from benchmark.spec.schema import Spec
from benchmark.training.session import TrainedRun


def evaluate_run(trained: TrainedRun, spec: Spec, table: pd.DataFrame, masks: np.ndarray, regs: Registries) -> dict[str, Any]:
    test_idx = trained.indices["test"]
    labels = table["label"].to_numpy()[test_idx]
    model, normaliser, split = trained.backbone.model, trained.normaliser, trained.splits["test"]
    proba = predict_proba(model, split, normaliser, spec.training.eval_batch_size)
    predictions = proba.argmax(1)

    loc = spec.explain.localisation
    metric = regs.get("localisation", loc.metric).obj
    test_masks = np.asarray(masks[test_idx])
    has_mask = table["has_mask"].to_numpy()[test_idx].astype(bool)
    explainers = {}
    for name in spec.explain.explainers:
        explainer = regs.get("explainer", name).obj(trained.backbone)
        scores = localisation_score(model, explainer, metric, {"threshold": loc.threshold}, split, test_masks, has_mask,
                                    predictions, normaliser, spec.explain.batch_size)
        scores["patch_index"] = [int(test_idx[i]) for i in scores["patch_index"]]
        explainers[name] = scores
    return {
        "test": classification_metrics(labels, proba, CLASSES),
        "localisation": {"metric": loc.metric, "threshold": loc.threshold, "explainers": explainers},
        "predictions": {"patch_id": [int(i) for i in test_idx], "label": [int(v) for v in labels],
                        "proba": np.round(proba, 6).tolist()},
    }
