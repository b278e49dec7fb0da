"""Evaluate a trained run on the test split, step by step, each step returning a record:
predictions and test metrics; for every explainer and control, its maps of the correctly
classified lesion patches scored for localisation and faithfulness; the per-lesion
verdicts; the sanity tests. The maps of each explainer are computed once and serve every
step. Arrays stored beside the result (galleries, an explainer's own panels, the maps the
repeatability stage compares) come back in ``Evaluation.arrays``. Each explainer's work
is announced as events (``benchmark/events.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from benchmark.data.classes import CLASSES
from benchmark.evaluation.faithfulness import faithfulness_scores
from benchmark.evaluation.gallery import choose_examples, gallery_arrays, verdict_gallery_arrays
from benchmark.evaluation.localisation import (
    Explained,
    Scoring,
    explain,
    score_localisation,
    validation_choice,
)
from benchmark.evaluation.metrics import classification_metrics
from benchmark.evaluation.panels import own_panels
from benchmark.evaluation.predict import predict_proba
from benchmark.evaluation.records import (
    ExplainerScores,
    Faithfulness,
    FaithfulnessMetricInfo,
    FaithfulnessScores,
    Localisation,
    Predictions,
    Sanity,
    TestMetrics,
    Verdicts,
)
from benchmark.evaluation.sanity import sanity_patches, sanity_tests
from benchmark.evaluation.thresholds import as_threshold
from benchmark.evaluation.verdicts import lesion_verdicts, random_removal_drops, removal_drops
from benchmark.events import Done, Events, Started
from benchmark.plugin_types import Backbone
from benchmark.registry.calls import explainer_factories, faithfulness_metric, metric
from benchmark.registry.loading import Registries
from benchmark.spec.schema import Spec
from benchmark.training.session import TrainedRun


@dataclass
class Evaluation:
    """What the evaluation adds to a run's result, and the arrays stored beside it
    (array set name -> arrays: ``gallery-<explainer>``, ``panel-...``, ``maps-<explainer>``,
    ``verdicts-<explainer>``)."""

    test: TestMetrics
    localisation: Localisation
    predictions: Predictions
    faithfulness: Faithfulness | None = None
    sanity: Sanity | None = None
    verdicts: Verdicts | None = None
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def _explained(
    trained: TrainedRun, split: str, table: pd.DataFrame, masks: np.ndarray, proba: np.ndarray, batch_size: int
) -> Explained:
    idx = trained.indices[split]
    return Explained(
        trained.backbone.model,
        trained.splits[split],
        np.asarray(masks[idx]),
        table["has_mask"].to_numpy()[idx].astype(bool),
        proba.argmax(1),
        trained.normaliser,
        batch_size,
    )


def _scoring(spec: Spec, regs: Registries) -> Scoring:
    """The LL metric under its rule, the further rules (the verdict's among them) and the companions."""
    loc, verdict = spec.explain.localisation, spec.explain.verdict
    extra = [rule for rule in loc.rules() if rule != loc.threshold]
    if verdict.threshold != loc.threshold and verdict.threshold not in extra:
        extra.append(verdict.threshold)
    refs = {ref.label(): ref for ref in [loc.metric, *loc.metrics]}
    return Scoring({name: metric(regs, ref) for name, ref in refs.items()}, loc.metric.label(), loc.threshold, extra)


def _agreement_maps(maps: np.ndarray, size: int) -> np.ndarray:
    """Maps reduced to ``size`` pixels a side (area averaging) as float16, for the
    repeatability stage."""
    t = torch.as_tensor(maps, dtype=torch.float32)[:, None]
    if t.shape[-1] > size:
        t = torch.nn.functional.interpolate(t, size=(size, size), mode="area")
    return t[:, 0].numpy().astype(np.float16)


def evaluate_run(
    trained: TrainedRun,
    spec: Spec,
    table: pd.DataFrame,
    masks: np.ndarray,
    regs: Registries,
    events: Events | None = None,
    subject: str = "",
    permuted: Backbone | None = None,
) -> Evaluation:
    """Every evaluation step of one trained run (``permuted``: the same run trained on
    permuted labels, for the sanity check's data randomisation)."""
    events = events or Events()
    ex = spec.explain
    test_idx = trained.indices["test"]
    labels = table["label"].to_numpy()[test_idx]
    model, normaliser, backbone = trained.backbone.model, trained.normaliser, trained.backbone
    proba = predict_proba(model, trained.splits["test"], normaliser, spec.training.eval_batch_size)
    predictions = proba.argmax(1)

    scoring = _scoring(spec, regs)
    test = _explained(trained, "test", table, masks, proba, ex.batch_size)
    validation = None
    if scoring.needs_validation():
        val_proba = predict_proba(model, trained.splits["val"], normaliser, spec.training.eval_batch_size)
        validation = _explained(trained, "val", table, masks, val_proba, ex.batch_size)
    factories = explainer_factories(regs, ex.scored())
    controls = [c for c in ex.control_labels() if c in factories]
    faith_metrics = {ref.label(): faithfulness_metric(regs, ref) for ref in ex.faithfulness.metrics}

    correct = test.correct_lesions()
    other_lesions = np.flatnonzero(test.has_mask & (predictions != labels))
    faith_positions = sanity_patches(np.arange(len(correct)), ex.faithfulness.patches)  # into ``correct``
    verdict_metric = (
        scoring.ll_metric
        if ex.verdict.threshold == ex.localisation.threshold
        else scoring.rule_metric(ex.verdict.threshold)
    )
    drop_random = (
        random_removal_drops(model, test.split, correct, predictions[correct], normaliser, ex.verdict, ex.batch_size)
        if len(correct)
        else np.zeros(0)
    )

    explainers: dict[str, ExplainerScores] = {}
    faithful: dict[str, dict[str, FaithfulnessScores]] = {}
    faith_info: dict[str, FaithfulnessMetricInfo] = {}
    drop_top: dict[str, np.ndarray] = {}
    arrays: dict[str, dict[str, np.ndarray]] = {}
    declined: list[str] = []
    kept_maps: dict[str, np.ndarray] = {}
    for name, make in factories.items():
        explainer = make(backbone)
        if explainer is None:  # its factory declined this model (e.g. a method for another kind of network)
            declined.append(name)
            continue
        started = time.perf_counter()
        events.emit(Started("explain", subject, name))
        maps = test.maps(explainer, correct)
        choice = validation_choice(explainer, validation, scoring) if validation is not None else None
        scores = score_localisation(maps, correct, test.masks[correct], scoring, choice)
        if faith_metrics and len(correct):
            positions = correct[faith_positions]
            faithful[name], steps = faithfulness_scores(
                faith_metrics,
                model,
                test.split,
                positions,
                maps[faith_positions],
                predictions[positions],
                normaliser,
                ex.batch_size,
            )
            faith_info |= {
                m: FaithfulnessMetricInfo(higher_is_better=faith_metrics[m].higher_is_better, steps=steps[m])
                for m in faith_metrics
            }
        drop_top[name] = removal_drops(
            model,
            test.split,
            correct,
            maps,
            predictions[correct],
            normaliser,
            ex.verdict.removal,
            ex.verdict.seed,
            ex.batch_size,
        )
        kept_maps[name] = maps
        if name not in controls:
            if ex.gallery:
                positions, category = choose_examples(scores.model_dump(), test.has_mask, labels, proba, ex.gallery)
                arrays[f"gallery-{name}"] = gallery_arrays(
                    explainer,
                    test,
                    scoring.metrics[scoring.ll_metric],
                    as_threshold(scores.threshold),
                    positions,
                    category,
                    proba,
                    test_idx,
                )
            if ex.agreement.enabled:  # every test lesion, explained for its true class
                rest = explain(
                    model, explainer, test.split, other_lesions, labels[other_lesions], normaliser, ex.batch_size
                )
                order = np.argsort(np.concatenate([correct, other_lesions]), kind="stable")
                arrays[f"maps-{name}"] = {
                    "patch_id": test_idx[np.concatenate([correct, other_lesions])[order]].astype(np.int64),
                    "maps": _agreement_maps(np.concatenate([maps, rest])[order], ex.agreement.size),
                }
        if callable(getattr(explainer, "panels", None)):
            arrays |= own_panels(name, explainer, trained, predictions)
        explainers[name] = scores.model_copy(
            update={
                "patch_index": [int(test_idx[i]) for i in scores.patch_index],
                "zero_map_index": [int(test_idx[i]) for i in scores.zero_map_index],
            }
        )
        events.emit(
            Done(
                "explain",
                subject,
                time.perf_counter() - started,
                f"{name}: LL {scores.ll:.3f}" if scores.ll is not None else f"{name}: no lesion to score",
            )
        )

    localisation = Localisation(
        metric=scoring.ll_metric,
        threshold=ex.localisation.threshold.model_dump(),
        rules={scoring.rule_metric(rule): rule.model_dump() for rule in scoring.rules},
        metrics=list({ref.label(): ref for ref in [ex.localisation.metric, *ex.localisation.metrics]})
        + [scoring.rule_metric(rule) for rule in scoring.rules],
        baseline=ex.baseline_label,
        explainers=explainers,
        declined=declined,
        panels=[k for k in arrays if k.startswith("panel-")],
        controls=[c for c in controls if c in explainers],
    )
    faithfulness = (
        Faithfulness(
            patch_index=[int(test_idx[i]) for i in correct[faith_positions]], metrics=faith_info, explainers=faithful
        )
        if faith_metrics and faithful
        else None
    )

    verdicts = None
    subjects = [n for n in explainers if n not in controls]
    if len(correct) and subjects:

        def per_patch(name: str) -> np.ndarray:
            entry = explainers[name]
            return np.asarray(
                entry.scores if verdict_metric == scoring.ll_metric else entry.metrics[verdict_metric].scores
            )

        verdicts = lesion_verdicts(
            ex.verdict,
            verdict_metric,
            test_idx[correct],
            {n: per_patch(n) for n in subjects},
            {c: per_patch(c) for c in localisation.controls},
            drop_top,
            drop_random,
        )
        if ex.gallery:
            for name in subjects:
                arrays[f"verdicts-{name}"] = verdict_gallery_arrays(
                    test, correct, kept_maps[name], verdicts.explainers[name], drop_random, ex.gallery, test_idx
                )

    sanity = None
    if ex.sanity.enabled:
        checked = {name: make for name, make in factories.items() if name in explainers}
        positions = sanity_patches(correct, ex.sanity.patches)
        if len(positions):
            events.emit(Started("sanity", subject, f"{len(ex.sanity.tests)} test(s)"))
            started = time.perf_counter()
            sanity = sanity_tests(
                backbone,
                checked,
                test.split,
                positions,
                predictions[positions],
                normaliser,
                ex.batch_size,
                ex.sanity,
                controls=controls,
                num_classes=len(CLASSES),
                permuted=permuted,
            )
            events.emit(
                Done(
                    "sanity",
                    subject,
                    time.perf_counter() - started,
                    f"{len(sanity.failures())} failure(s) of an explainer",
                )
            )
    return Evaluation(
        test=TestMetrics.model_validate(classification_metrics(labels, proba, CLASSES)),
        localisation=localisation,
        predictions=Predictions(
            patch_id=[int(i) for i in test_idx], label=[int(v) for v in labels], proba=np.round(proba, 6).tolist()
        ),
        faithfulness=faithfulness,
        sanity=sanity,
        verdicts=verdicts,
        arrays=arrays,
    )
