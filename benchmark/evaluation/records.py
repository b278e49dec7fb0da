"""The records evaluation returns and a run's result stores: test metrics, localisation,
faithfulness, the sanity tests and the per-lesion verdicts. Each evaluation step returns
one of these; nothing crosses from evaluation to the result or the report as a dict.
Per-patch scores are kept (in the order of the record's ``patch_index``) so that
intervals and comparisons are computed at report time without the model.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from benchmark.record import Record


# --------------------------------------------------------------------------- test metrics
class ClassScores(Record):
    precision: float
    recall: float
    f1: float
    support: int
    auc: float | None


class Averages(Record):
    precision: float
    recall: float
    f1: float
    support: float


class TestMetrics(Record):
    n: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    per_class: dict[str, ClassScores]
    averages: dict[str, Averages]
    auc_average: float | None
    confusion_matrix: list[list[int]]
    confusion_matrix_row_percent: list[list[float]]


# --------------------------------------------------------------------------- localisation
class Curve(Record):
    thresholds: list[float]
    ll: list[float | None]


class ValidationChoice(Curve):
    n: int
    chosen: float | None
    fallback: float | None = None


class MetricScores(Record):
    mean: float | None
    scores: list[float]


class ExplainerScores(Record):
    ll: float | None
    threshold: dict[str, Any]  # the LL's rule as applied (a validation rule resolved to its value)
    n_correct_lesions: int
    n_scored: int
    n_zero_maps: int
    zero_map_index: list[int]
    patch_index: list[int]
    scores: list[float]
    metrics: dict[str, MetricScores]
    curve: Curve
    validation: ValidationChoice | None = None


class Localisation(Record):
    metric: str
    threshold: dict[str, Any]
    rules: dict[str, dict[str, Any]]  # metric name -> further threshold rule
    metrics: list[str]
    baseline: str
    explainers: dict[str, ExplainerScores]
    controls: list[str] = Field(default_factory=list)  # the model-free maps among the explainers (baseline included)
    declined: list[str] = Field(default_factory=list)  # explainers whose factory declined this model
    panels: list[str] = Field(default_factory=list)  # array names of the explainers' own figures (PanelContext)


class Predictions(Record):
    patch_id: list[int]
    label: list[int]
    proba: list[list[float]]


# --------------------------------------------------------------------------- faithfulness
class FaithfulnessMetricInfo(Record):
    """How to read a faithfulness metric: which way it points, and its curve's steps."""

    higher_is_better: bool
    steps: list[float] = Field(default_factory=list)


class FaithfulnessScores(Record):
    mean: float | None
    scores: list[float]  # per patch, in Faithfulness.patch_index order
    curve: list[float | None] = Field(default_factory=list)  # the mean over patches at each step


class Faithfulness(Record):
    """Every faithfulness metric's per-patch scores of every explainer and control, on the
    same correctly classified test lesion patches (``patch_index``: patch ids)."""

    patch_index: list[int]
    metrics: dict[str, FaithfulnessMetricInfo]
    explainers: dict[str, dict[str, FaithfulnessScores]]  # explainer -> metric -> scores


# --------------------------------------------------------------------------- sanity
class SanityCurve(Record):
    """One explainer's similarity to its trained-model maps at each step of a test."""

    spearman: list[float]
    ssim: list[float]
    passed: bool


class SanityTest(Record):
    name: str  # top-down, bottom-up, independent, random-logit, label-permutation
    steps: list[str]  # what was changed at each step
    passes_when: str  # what an explainer must show to pass
    explainers: dict[str, SanityCurve]


class Sanity(Record):
    n_patches: int
    flag_above: float
    ssim_flag_above: float
    tests: list[SanityTest]
    controls: list[str] = Field(default_factory=list)  # model-free maps: expected to fail, never a warning

    def failures(self) -> list[tuple[str, str]]:
        """(test, explainer) of every failed test of an explainer that is not a control."""
        return [
            (t.name, name)
            for t in self.tests
            for name, c in t.explainers.items()
            if not c.passed and name not in self.controls
        ]


# --------------------------------------------------------------------------- verdicts
#: the four verdict groups, in the report's order
VERDICT_GROUPS = ("localised and faithful", "localised only", "faithful only", "neither")


class ExplainerVerdicts(Record):
    """Per lesion (in ``Verdicts.patch_index`` order): the IoU of the map's region, the
    strongest control's IoU on the same patch, the drop in the target probability when the
    map's top pixels are removed, and the two verdicts."""

    control: str | None
    iou: list[float]
    control_iou: list[float]
    drop_top: list[float]
    localised: list[bool]
    faithful: list[bool]

    def groups(self) -> list[int]:
        """Index into :data:`VERDICT_GROUPS` per lesion."""
        return [
            0 if loc and fai else 1 if loc else 2 if fai else 3
            for loc, fai in zip(self.localised, self.faithful, strict=True)
        ]


class Verdicts(Record):
    """One verdict per correctly classified test lesion patch and explainer (the
    ``explain.verdict`` settings, and the random removals every explainer is held to)."""

    metric: str  # the region score the localised verdict compares (iou@otsu, say)
    threshold: dict[str, Any]
    margin: float
    removal: float
    faithful_margin: float
    draws: int
    patch_index: list[int]
    drop_random: list[float]
    explainers: dict[str, ExplainerVerdicts]
    #: per control: the share of these lesions on which removing its top pixels beats the random
    #: removals (how easily the faithful verdict is earned on this data without a model)
    control_faithful: dict[str, float] = Field(default_factory=dict)


# --------------------------------------------------------------------------- repeatability
class AgreementPair(Record):
    """The maps of one explainer from two runs on the same test lesion patches: mean
    similarity of the same patch's maps, and of randomly paired different patches (the
    floor), each an interval (``estimate``, ``low``, ``high``)."""

    a: str
    b: str
    kind: str  # repeatability (the runs differ only in seed) or reproducibility
    explainer: str
    n: int
    ssim: dict[str, float | None]
    spearman: dict[str, float | None]
    floor_ssim: dict[str, float | None]
    floor_spearman: dict[str, float | None]


class Agreement(Record):
    runs: list[str]
    explainers: list[str]
    size: int
    pairs: list[AgreementPair]
