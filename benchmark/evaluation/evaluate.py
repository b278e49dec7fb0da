"""Evaluate a trained run on the test split: predictions, metrics, localisation, sanity.

Returns the ``test``, ``localisation`` and ``predictions`` parts of a run's result, and
the gallery arrays that are stored beside it (one set per explainer). Per-patch scores
are kept in the result so that intervals and comparisons are computed at report time.
The validation split is explained too when a threshold rule is chosen on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmark.data.classes import CLASSES
from benchmark.evaluation.gallery import choose_examples, gallery_arrays
from benchmark.evaluation.localisation import Explained, Scoring, localisation_scores
from benchmark.evaluation.metrics import classification_metrics
from benchmark.evaluation.panels import own_panels
from benchmark.evaluation.predict import predict_proba
from benchmark.evaluation.sanity import cascading_randomisation, sanity_patches
from benchmark.evaluation.thresholds import as_threshold
from benchmark.registry.calls import explainer_factories, metric
from benchmark.registry.loading import Registries
from benchmark.spec.schema import Spec
from benchmark.training.session import TrainedRun


@dataclass
class Evaluation:
    """What the evaluation stage adds to a run's result, and the arrays stored beside it."""

    result: dict[str, Any]
    gallery: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    panels: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # array name -> an explainer's panel


def _explained(trained: TrainedRun, split: str, table: pd.DataFrame, masks: np.ndarray, proba: np.ndarray,
               batch_size: int) -> Explained:
    idx = trained.indices[split]
    return Explained(trained.backbone.model, trained.splits[split], np.asarray(masks[idx]),
                     table["has_mask"].to_numpy()[idx].astype(bool), proba.argmax(1), trained.normaliser, batch_size)


def evaluate_run(trained: TrainedRun, spec: Spec, table: pd.DataFrame, masks: np.ndarray, regs: Registries) -> Evaluation:
    test_idx = trained.indices["test"]
    labels = table["label"].to_numpy()[test_idx]
    model, normaliser = trained.backbone.model, trained.normaliser
    proba = predict_proba(model, trained.splits["test"], normaliser, spec.training.eval_batch_size)

    ex = spec.explain
    loc = ex.localisation
    extra_rules = [rule for rule in loc.rules() if rule != loc.threshold]
    refs = {ref.label(): ref for ref in [loc.metric, *loc.metrics]}
    metric_names = list(refs)
    scoring = Scoring({name: metric(regs, ref) for name, ref in refs.items()}, loc.metric.label(), loc.threshold,
                      extra_rules)
    test = _explained(trained, "test", table, masks, proba, ex.batch_size)
    validation = None
    if scoring.needs_validation():
        val_proba = predict_proba(model, trained.splits["val"], normaliser, spec.training.eval_batch_size)
        validation = _explained(trained, "val", table, masks, val_proba, ex.batch_size)
    factories = explainer_factories(regs, ex.scored())

    explainers, gallery, declined, panels = {}, {}, [], {}
    for name, make in factories.items():
        explainer = make(trained.backbone)
        if explainer is None:  # its factory declined this model (e.g. a method for another kind of network)
            declined.append(name)
            continue
        scores = localisation_scores(explainer, test, scoring, validation)
        if name != ex.baseline_label and ex.gallery:
            positions, category = choose_examples(scores, test.has_mask, labels, proba, ex.gallery)
            gallery[name] = gallery_arrays(explainer, test, scoring.metrics[scoring.ll_metric], as_threshold(scores["threshold"]),
                                           positions, category, proba, test_idx)
        if callable(getattr(explainer, "panels", None)):
            panels |= own_panels(name, explainer, trained, proba.argmax(1))
        for key in ("patch_index", "zero_map_index"):
            scores[key] = [int(test_idx[i]) for i in scores[key]]
        explainers[name] = scores

    localisation: dict[str, Any] = {
        "metric": scoring.ll_metric, "threshold": loc.threshold.model_dump(),
        "rules": {scoring.rule_metric(rule): rule.model_dump() for rule in extra_rules},
        "metrics": metric_names + [scoring.rule_metric(rule) for rule in extra_rules],
        "baseline": ex.baseline_label, "explainers": explainers, "declined": declined,
        "panels": list(panels),
    }
    if ex.sanity.enabled:
        checked = {name: make for name, make in factories.items() if name != ex.baseline_label and name in explainers}
        positions = sanity_patches(test.correct_lesions(), ex.sanity.patches)
        localisation["sanity"] = cascading_randomisation(
            trained.backbone, checked, test.split, positions, test.predictions[positions], normaliser, ex.batch_size,
            ex.sanity.seed, ex.sanity.flag_above) if len(positions) else None
    result = {
        "test": classification_metrics(labels, proba, CLASSES),
        "localisation": localisation,
        "predictions": {"patch_id": [int(i) for i in test_idx], "label": [int(v) for v in labels],
                        "proba": np.round(proba, 6).tolist()},
    }
    return Evaluation(result, gallery, panels)
