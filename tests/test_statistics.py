"""Bootstrap intervals and paired comparisons: stratified resamples, vectorised metrics
equal to scikit-learn's on each resample, McNemar as scipy computes it, and the report's
statistics from stored results."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest, chi2
from sklearn.metrics import f1_score, roc_auc_score

from benchmark.data.classes import CLASSES
from benchmark.evaluation import resampled
from benchmark.evaluation.bootstrap import (
    paired_p_value,
    percentile_interval,
    stratified_indices,
)
from benchmark.evaluation.metrics import classification_metrics
from benchmark.evaluation.significance import benjamini_hochberg, mcnemar
from benchmark.report.statistics import compute_statistics
from benchmark.run.result import RunResult
from benchmark.spec.schema import Bootstrap
from tests.factories import run_result

Y = np.repeat(np.arange(5), [6, 7, 8, 6, 6])


def _proba(seed: int, signal: float) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(len(Y), 5)) + signal * np.eye(5)[Y]
    return np.exp(logits) / np.exp(logits).sum(1, keepdims=True)


def test_stratified_resamples_keep_every_class_count_and_are_seeded() -> None:
    idx = stratified_indices(Y, 200, seed=1)
    assert idx.shape == (200, len(Y))
    for k in range(5):
        assert ((Y[idx] == k).sum(axis=1) == (Y == k).sum()).all()
    assert np.array_equal(idx, stratified_indices(Y, 200, seed=1))
    assert not np.array_equal(idx, stratified_indices(Y, 200, seed=2))


def test_vectorised_metrics_equal_scikit_learn_on_each_resample() -> None:
    proba = _proba(0, 1.5)
    pred = proba.argmax(1)
    idx = stratified_indices(Y, 20, seed=0)
    acc, f1 = resampled.accuracy(Y, pred, idx), resampled.macro_f1(Y, pred, idx, 5)
    auc = resampled.auc_average(Y, proba, idx, 5)
    for b, row in enumerate(idx):
        y, p = Y[row], proba[row]
        assert acc[b] == pytest.approx((y == p.argmax(1)).mean())
        assert f1[b] == pytest.approx(f1_score(y, p.argmax(1), labels=range(5), average="macro", zero_division=0))
        assert auc[b] == pytest.approx(np.mean([roc_auc_score(y == k, p[:, k]) for k in range(5)]))


def test_mean_score_ignores_unscored_patches() -> None:
    scores = np.array([1.0, np.nan, 0.0, np.nan])
    idx = np.array([[0, 0, 2, 2], [1, 1, 3, 3], [0, 1, 3, 3]])
    assert np.allclose(resampled.mean_score(scores, idx), [0.5, np.nan, 1.0], equal_nan=True)


def test_intervals_and_paired_p_values() -> None:
    reps = np.random.default_rng(0).normal(0.7, 0.05, 1000)
    iv = percentile_interval(0.7, reps, 0.95)
    assert iv.low < 0.7 < iv.high and iv.high - iv.low == pytest.approx(2 * 1.96 * 0.05, rel=0.15)
    assert paired_p_value(np.zeros(100)) == 1.0
    assert paired_p_value(np.full(999, 0.1)) == pytest.approx(2 / 1000)
    assert 0.2 < paired_p_value(np.random.default_rng(1).normal(0.0, 1.0, 1000)) <= 1.0


def test_mcnemar_exact_and_chi_square() -> None:
    a = np.array([True] * 7 + [False] * 2 + [True] * 20)
    b = np.array([False] * 7 + [True] * 2 + [True] * 20)
    small = mcnemar(a, b)
    assert (small.b, small.c, small.test) == (7, 2, "exact binomial")
    assert small.p_value == pytest.approx(binomtest(7, 9, 0.5).pvalue)
    a = np.array([True] * 30 + [False] * 10)
    large = mcnemar(a, ~a)
    assert large.test.startswith("chi-square") and large.p_value == pytest.approx(chi2.sf((20 - 1) ** 2 / 40, 1))
    assert mcnemar(a, a).p_value == 1.0
    assert benjamini_hochberg([0.01, None, 0.04]) == [pytest.approx(0.02), None, pytest.approx(0.04)]


def _result(run_id: str, proba: np.ndarray, ll_scores: dict[str, np.ndarray]) -> RunResult:
    patch_ids = np.arange(100, 100 + len(Y))
    result = run_result(
        run_id=run_id,
        lls={name: None for name in ll_scores},
        test=classification_metrics(Y, proba, CLASSES),
        predictions={"patch_id": patch_ids.tolist(), "label": Y.tolist(), "proba": proba.tolist()},
    )
    explainers = {}
    for name, per_patch in ll_scores.items():
        scored = np.flatnonzero(np.isfinite(per_patch))
        explainers[name] = result.localisation.explainers[name].model_copy(
            update={
                "ll": float(per_patch[scored].mean()),
                "patch_index": patch_ids[scored].tolist(),
                "scores": per_patch[scored].tolist(),
            }
        )
    controls = [name for name in ll_scores if name == "random"]
    return result.model_copy(
        update={"localisation": result.localisation.model_copy(update={"explainers": explainers, "controls": controls})}
    )


def _lesion_scores() -> tuple[np.ndarray, np.ndarray]:
    """Per-patch LL of a localising explainer and of chance (NaN off the lesion patches)."""
    rng = np.random.default_rng(0)
    lesion = Y > 0
    good = np.where(lesion, rng.uniform(0.4, 0.7, len(Y)), np.nan)
    chance = np.where(lesion, rng.uniform(0.05, 0.2, len(Y)), np.nan)
    return good, chance


def test_report_statistics_from_stored_results() -> None:
    good, chance = _lesion_scores()
    a = _result("a", _proba(0, 3.0), {"gradcam": good, "random": chance})
    b = _result("b", _proba(1, 0.5), {"gradcam": chance, "random": chance})
    stats = compute_statistics([a, b], ["gradcam", "random"], "random", Bootstrap(resamples=500))
    run_a = stats["runs"]["a"]
    assert run_a["accuracy"]["low"] <= a.test.accuracy <= run_a["accuracy"]["high"]
    beside = run_a["localisation"]["gradcam"]["iou"]
    assert beside["baseline"] == pytest.approx(np.nanmean(chance)) and beside["difference"]["low"] > 0.2
    same = stats["runs"]["b"]["localisation"]["gradcam"]["iou"]
    assert same["difference"]["estimate"] == 0.0 and same["p_value"] == 1.0
    (pair,) = stats["comparisons"]
    assert (pair["a"], pair["b"], pair["ll"]["explainer"]) == ("a", "b", "gradcam")
    assert pair["ll"]["difference"]["low"] > 0 and pair["auc_average"]["difference"]["low"] > 0
    assert pair["accuracy"]["q_value"] == pair["accuracy"]["p_value"] < 0.05
    assert compute_statistics([a, b], ["gradcam"], "random", Bootstrap(resamples=500)) == stats  # seeded


def test_the_verdict_beside_table_iv_never_claims_an_ll_that_was_not_scored() -> None:
    from benchmark.report.tables import ll_against_controls

    good, chance = _lesion_scores()
    above = _result("a", _proba(0, 3.0), {"gradcam": good, "random": chance})
    proba = _proba(1, 0.5)
    unscored = run_result(
        run_id="u",
        lls={"gradcam": None, "random": None},  # no correctly classified lesion
        test=classification_metrics(Y, proba, CLASSES),
        predictions={"patch_id": list(range(len(Y))), "label": Y.tolist(), "proba": proba.tolist()},
    )
    stats = compute_statistics([above, unscored], ["gradcam", "random"], "random", Bootstrap(resamples=200))
    verdicts = ll_against_controls([above, unscored], ["gradcam", "random"], stats)
    assert verdicts == {
        "above": [f"`gradcam` on `a` ({above.label})"],
        "not above": [],
        "unscored": [f"`gradcam` on `u` ({unscored.label})"],
    }
    alone = ll_against_controls([unscored], ["gradcam", "random"], stats)
    assert alone["above"] == [] and alone["not above"] == [] and len(alone["unscored"]) == 1
