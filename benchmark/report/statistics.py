"""Confidence intervals and paired comparisons, computed from the run store at report time.

Everything here follows from what each result stores per test patch (labels, class
probabilities, each explainer's per-patch localisation scores), so ``cbis-bench report``
recomputes it without the models, and a different ``report.bootstrap`` never retrains.
The output is plain data (written to ``statistics.json``); the report's tables read it.

* per run: accuracy, macro-F1, average AUC and every explainer's localisation scores,
  each with its stratified bootstrap interval; each explainer's scores beside the
  baseline's on the same patches, with the paired interval and p-value of the difference,
  and beside the strongest model-free control's (``beside_controls``); the same for
  every faithfulness score; the share of each per-lesion verdict group;
* per pair of runs on the same test set: McNemar for accuracy, paired bootstrap for the
  average AUC and the first explainer's LL, Benjamini-Hochberg across the pairs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmark.evaluation import resampled
from benchmark.evaluation.bootstrap import (
    Interval,
    paired_p_value,
    percentile_interval,
    stratified_indices,
)
from benchmark.evaluation.records import VERDICT_GROUPS
from benchmark.evaluation.significance import benjamini_hochberg, mcnemar
from benchmark.hashing import stable_hash
from benchmark.run.result import RunResult
from benchmark.spec.schema import Bootstrap


@dataclass
class RunVectors:
    """One stored result as arrays in test-set order, with its bootstrap replicates."""

    result: RunResult
    labels: np.ndarray
    proba: np.ndarray
    position: dict[int, int]  # patch id -> position in the test set
    replicates: dict[Any, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, result: RunResult) -> RunVectors:
        pred = result.predictions
        return cls(
            result,
            np.asarray(pred.label, dtype=int),
            np.asarray(pred.proba, dtype=float),
            {int(p): i for i, p in enumerate(pred.patch_id)},
        )

    @property
    def predictions(self) -> np.ndarray:
        return self.proba.argmax(axis=1)

    def per_patch(self, explainer: str, metric: str) -> np.ndarray:
        """The explainer's score on each test patch; NaN where it scored none."""
        loc = self.result.localisation
        entry = loc.explainers[explainer]
        values = entry.scores if metric == loc.metric else entry.metrics[metric].scores
        out = np.full(len(self.labels), np.nan)
        out[[self.position[int(p)] for p in entry.patch_index]] = values
        return out


def test_set_key(result: RunResult) -> str:
    """Runs with the same key were evaluated on the same patches with the same labels."""
    pred = result.predictions
    return stable_hash({"data": result.data.hash, "patches": pred.patch_id, "labels": pred.label})


def _interval(estimate: float | None, replicates: np.ndarray, confidence: float) -> dict[str, Any]:
    return percentile_interval(estimate, replicates, confidence).to_dict()


def _difference(a: np.ndarray, b: np.ndarray, estimate: float | None, confidence: float) -> dict[str, Any]:
    d = a - b
    return {
        "difference": _interval(estimate, d, confidence),
        "p_value": paired_p_value(d) if estimate is not None else None,
    }


def _mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else None


def _run_statistics(v: RunVectors, idx: np.ndarray, baseline: str, confidence: float) -> dict[str, Any]:
    test = v.result.test
    n_classes = v.proba.shape[1]
    v.replicates["accuracy"] = resampled.accuracy(v.labels, v.predictions, idx)
    v.replicates["macro_f1"] = resampled.macro_f1(v.labels, v.predictions, idx, n_classes)
    v.replicates["auc_average"] = resampled.auc_average(v.labels, v.proba, idx, n_classes)
    out: dict[str, Any] = {
        key: _interval(getattr(test, key), v.replicates[key], confidence)
        for key in ("accuracy", "macro_f1", "auc_average")
    }
    loc = v.result.localisation
    metrics = loc.metrics or [loc.metric]
    base = loc.explainers.get(baseline)
    out["localisation"] = {}
    for name in loc.explainers:
        per_metric = {}
        for metric in metrics:
            scores = v.per_patch(name, metric)
            reps = v.replicates[(name, metric)] = resampled.mean_score(scores, idx)
            entry = _interval(_mean(scores), reps, confidence)
            if base is not None and name != baseline:  # beside the baseline, on the patches both scored
                theirs = v.per_patch(baseline, metric)
                both = np.isfinite(scores) & np.isfinite(theirs)
                mine, ref = np.where(both, scores, np.nan), np.where(both, theirs, np.nan)
                est_mine, est_ref = _mean(mine), _mean(ref)
                estimate = None if est_mine is None or est_ref is None else est_mine - est_ref
                entry["baseline"] = est_ref
                entry |= _difference(
                    resampled.mean_score(mine, idx), resampled.mean_score(ref, idx), estimate, confidence
                )
            per_metric[metric] = entry
        out["localisation"][name] = per_metric
    for name, per_metric in out["localisation"].items():
        if name in loc.controls:
            continue
        for metric, entry in per_metric.items():
            others = [c for c in loc.controls if c != name and c in loc.explainers]
            entry |= beside_controls(
                entry.get("estimate"),
                v.replicates[(name, metric)],
                {c: (_mean(v.per_patch(c, metric)), v.replicates[(c, metric)]) for c in others},
                True,
                confidence,
            )
    out["faithfulness"] = faithfulness_statistics(v, idx, confidence)
    out["verdicts"] = verdict_statistics(v, idx, confidence)
    return out


def beside_controls(
    estimate: float | None,
    replicates: np.ndarray,
    controls: dict[str, tuple[float | None, np.ndarray]],
    higher_is_better: bool,
    confidence: float,
) -> dict[str, Any]:
    """A score beside the strongest control at the same settings: its name and score (the
    best mean among ``controls``), and the paired advantage over it (positive: better than
    every control), whose interval takes the strongest control in each resample, so that
    choosing the strongest after the fact is paid for. Empty without a control."""
    scored = {c: m for c, (m, _) in controls.items() if m is not None}
    if not scored or estimate is None:
        return {}
    sign = 1.0 if higher_is_better else -1.0
    strongest = max(scored, key=lambda c: sign * scored[c])
    bars = np.stack([sign * controls[c][1] for c in scored])
    best = np.where(np.isnan(bars).all(axis=0), np.nan, np.nanmax(np.where(np.isnan(bars), -np.inf, bars), axis=0))
    advantage = sign * np.asarray(replicates, dtype=float) - best
    return {
        "control": strongest,
        "control_score": scored[strongest],
        "control_difference": _interval(sign * (estimate - scored[strongest]), advantage, confidence),
        "control_p": paired_p_value(advantage),
    }


def faithfulness_statistics(v: RunVectors, idx: np.ndarray, confidence: float) -> dict[str, Any]:
    """Explainer -> metric -> the mean score with its interval and, for an explainer that
    is not a control, the strongest control's score and the paired advantage over it."""
    faith = v.result.faithfulness
    if faith is None:
        return {}
    controls = set(v.result.localisation.controls)
    position = [v.position[int(p)] for p in faith.patch_index]
    per_patch: dict[tuple[str, str], tuple[float | None, np.ndarray]] = {}
    for name, metrics in faith.explainers.items():
        for metric, scores in metrics.items():
            values = np.full(len(v.labels), np.nan)
            values[position] = scores.scores
            per_patch[(name, metric)] = (_mean(values), resampled.mean_score(values, idx))
    out: dict[str, Any] = {}
    for name, metrics in faith.explainers.items():
        out[name] = {}
        for metric in metrics:
            estimate, reps = per_patch[(name, metric)]
            entry = _interval(estimate, reps, confidence)
            if name not in controls:
                entry |= beside_controls(
                    estimate,
                    reps,
                    {c: per_patch[(c, metric)] for c in controls if (c, metric) in per_patch},
                    faith.metrics[metric].higher_is_better,
                    confidence,
                )
            out[name][metric] = entry
    return out


def verdict_statistics(v: RunVectors, idx: np.ndarray, confidence: float) -> dict[str, Any]:
    """Explainer -> verdict group -> the share of the verdict lesions in it, with its
    interval (lesions resampled with the rest of the test set, within each class)."""
    verdicts = v.result.verdicts
    if verdicts is None:
        return {}
    position = [v.position[int(p)] for p in verdicts.patch_index]
    out: dict[str, Any] = {}
    for name, entry in verdicts.explainers.items():
        groups = np.asarray(entry.groups())
        out[name] = {"n": len(groups), "control": entry.control}
        for g, group in enumerate(VERDICT_GROUPS):
            values = np.full(len(v.labels), np.nan)
            values[position] = (groups == g).astype(float)
            out[name][group] = _interval(_mean(values), resampled.mean_score(values, idx), confidence)
    return out


def _comparison(a: RunVectors, b: RunVectors, explainer: str | None, confidence: float) -> dict[str, Any]:
    ta, tb = a.result.test, b.result.test
    out: dict[str, Any] = {
        "a": a.result.run_id,
        "b": b.result.run_id,
        "n": int(len(a.labels)),
        "accuracy": {"a": ta.accuracy, "b": tb.accuracy, "difference": ta.accuracy - tb.accuracy},
    }
    test = mcnemar(a.predictions == a.labels, b.predictions == b.labels)
    out["accuracy"] |= {"mcnemar": test.to_dict(), "p_value": test.p_value}
    auc = None if ta.auc_average is None or tb.auc_average is None else ta.auc_average - tb.auc_average
    out["auc_average"] = _difference(a.replicates["auc_average"], b.replicates["auc_average"], auc, confidence)
    if explainer is not None:
        metric = a.result.localisation.metric
        la = a.result.localisation.explainers[explainer].ll
        lb = b.result.localisation.explainers[explainer].ll
        ll = None if la is None or lb is None else la - lb
        out["ll"] = {
            "explainer": explainer,
            "a": la,
            "b": lb,
            **_difference(a.replicates[(explainer, metric)], b.replicates[(explainer, metric)], ll, confidence),
        }
    return out


def _adjust(comparisons: list[dict[str, Any]]) -> None:
    """Benjamini-Hochberg across the pairs, separately for each test."""
    for key in ("accuracy", "auc_average", "ll"):
        rows = [c[key] for c in comparisons if key in c]
        for row, q in zip(rows, benjamini_hochberg([r["p_value"] for r in rows]), strict=True):
            row["q_value"] = q


def compute_statistics(
    results: Sequence[RunResult], explainers: Sequence[str], baseline: str, config: Bootstrap
) -> dict[str, Any]:
    """Intervals for every run and comparisons for every pair of runs on the same test
    set (in matrix order); the LL comparison uses the first of ``explainers`` both ran."""
    vectors = [RunVectors.of(r) for r in results]
    indices: dict[str, np.ndarray] = {}
    runs = {}
    for v in vectors:
        key = test_set_key(v.result)
        if key not in indices:
            indices[key] = stratified_indices(v.labels, config.resamples, config.seed)
        runs[v.result.run_id] = _run_statistics(v, indices[key], baseline, config.confidence)
    comparisons = []
    for a, b in itertools.combinations(vectors, 2):
        if test_set_key(a.result) != test_set_key(b.result):
            continue
        shared = [
            e for e in explainers if e in a.result.localisation.explainers and e in b.result.localisation.explainers
        ]
        comparisons.append(_comparison(a, b, shared[0] if shared else None, config.confidence))
    _adjust(comparisons)
    return {"bootstrap": config.model_dump(), "runs": runs, "comparisons": comparisons}


def interval_of(entry: dict[str, Any]) -> Interval:
    return Interval(entry.get("estimate"), entry.get("low"), entry.get("high"))
