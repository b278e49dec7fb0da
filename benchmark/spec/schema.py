"""The spec's schema. Unknown keys are rejected everywhere (``extra="forbid"``).

Defaults are the study's choices (Adam, early stopping with patience 7 and minimum
improvement 0.01, head 1e-4, last block 3e-5, 0.85/0.15 validation split).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)


def located(path: str, message: str) -> str:
    """A validator's message that names the field it concerns (``@matrix.seed[0]: ...``):
    the spec loader reports it at that field and its line, like any field error."""
    return f"@{path}: {message}"


class Strict(BaseModel):
    """Unknown keys, infinities and NaN are errors everywhere; so is ``true`` or ``false``
    where a count or number is asked for (pydantic would read ``max_epochs: true`` as 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            allowed = set(get_args(annotation)) or {annotation}
            if bool not in allowed and allowed & {int, float}:
                raise ValueError("expected a number, not true or false")
        return value


class PluginRef(Strict):
    """A plugin named in a spec, with options for it (timm-style): ``gradcam`` or
    ``{name: gradcam, options: {...}}``. The options are validated by the plugin's own
    options model and are part of every run id that uses them."""

    name: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    def label(self) -> str:
        """How results and tables name it: the name, and its options when it has any."""
        if not self.options:
            return self.name
        return f"{self.name}[{','.join(f'{k}={v}' for k, v in sorted(self.options.items()))}]"


def labels(refs: list[PluginRef]) -> list[str]:
    return [ref.label() for ref in refs]


#: seeds go to Python, NumPy and torch: all take 32-bit unsigned integers
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
#: a learning rate above 1 is always a mistake for Adam on these networks
LearningRate = Annotated[float, Field(gt=0.0, le=1.0)]


class PatchParams(Strict):
    """How patches are cut from the mammograms (see docs/data-preparation.md)."""

    size: int = Field(224, ge=8, le=1024, description="side of the square patch fed to the network")
    lesion_margin: float = Field(0.0, ge=0.0, le=2.0, description="margin around the lesion box, fraction of its side")
    lesion_box: Literal["largest", "union"] = Field(
        "largest", description="box of the mask's largest connected component, or of all its components"
    )
    background_size: int = Field(550, ge=8, le=20_000, description="side of background patches in source pixels")
    background_per_image: int = Field(2, ge=0, le=64, description="windows from every background image")
    background_count: dict[Literal["train", "test"], Annotated[int, Field(ge=0, le=1_000_000)]] | None = Field(
        None,
        description="instead of background_per_image: this many windows per official split, each from a "
        "background image drawn at random (the study's Table I: train 644, test 310)",
    )
    background_seed: Seed = Field(0, description="seed of the draw of background images (background_count)")
    background_images: Literal["benign-without-callback"] = "benign-without-callback"

    @model_validator(mode="after")
    def _one_background_rule(self) -> PatchParams:
        if self.background_count is not None:
            if "background_per_image" in self.model_fields_set:
                raise ValueError("give background_per_image or background_count, not both")
            if any(n < 0 for n in self.background_count.values()):
                raise ValueError("background_count: counts cannot be negative")
        return self


class ValidationSplit(Strict):
    """Validation patches taken from the official training split (the same for every run)."""

    fraction: float = Field(0.15, gt=0.0, lt=0.9)
    group_by: Literal["patient", "none"] = "patient"
    stratify: bool = True
    seed: Seed = 0


class DatasetSpec(Strict):
    plugin: str = Field(json_schema_extra={"plugin": "dataset"})
    options: dict[str, Any] = Field(default_factory=dict)
    patches: PatchParams = PatchParams()
    validation: ValidationSplit = ValidationSplit()


class HParams(Strict):
    """One hyperparameter set of the matrix."""

    batch_size: int = Field(16, ge=1, le=4096)
    accumulate: int = Field(
        1,
        ge=1,
        le=1024,
        description="batches whose gradients are summed before a step: an effective batch of batch_size x accumulate",
    )
    lr_head: LearningRate = 1e-4
    lr_last_block: LearningRate = 3e-5
    lr_decay: float = Field(0.5, gt=0.0, le=1.0, description="learning-rate factor per group toward the input")
    weight_decay: float = Field(0.0, ge=0.0, le=1.0)

    def label(self) -> str:
        """``bs16 lr0.0001/3e-05`` (and the decay and weight decay when not the defaults)."""
        extra = (
            (f" decay{self.lr_decay:g}" if self.lr_decay != 0.5 else "")
            + (f" wd{self.weight_decay:g}" if self.weight_decay else "")
            + (f" x{self.accumulate}" if self.accumulate > 1 else "")
        )
        return f"bs{self.batch_size} lr{self.lr_head:g}/{self.lr_last_block:g}{extra}"


class Override(Strict):
    """Hyperparameters changed for the cells that match, e.g. the study's 3e-4 for the
    last block of ResNet50 trained simultaneously."""

    match: dict[Literal["backbone", "strategy", "seed"], str | int] = Field(min_length=1)
    set: dict[str, float | int] = Field(min_length=1)

    @field_validator("set")
    @classmethod
    def _known(cls, value: dict[str, float | int]) -> dict[str, float | int]:
        unknown = sorted(set(value) - set(HParams.model_fields))
        if unknown:
            raise ValueError(
                f"unknown hyperparameter(s) {', '.join(unknown)}; expected some of {', '.join(HParams.model_fields)}"
            )
        return value


class Matrix(Strict):
    """The runs: every combination of backbone, strategy, hyperparameter set and seed,
    and, for ablations, of normaliser (``normaliser``) and patch-cutting variant
    (``patches``: changes to ``dataset.patches``, e.g. ``{lesion_margin: 0.5}``)."""

    backbone: list[PluginRef] = Field(min_length=1, json_schema_extra={"plugin": "backbone"})
    strategy: list[PluginRef] = Field(min_length=1, json_schema_extra={"plugin": "strategy"})
    hparams: list[HParams] = Field(default_factory=lambda: [HParams()], min_length=1)
    seed: list[Seed] = Field(default_factory=lambda: [0], min_length=1)
    normaliser: list[PluginRef] | None = Field(
        None,
        min_length=1,
        json_schema_extra={"plugin": "normaliser"},
        description="normalisers to compare (instead of the top-level normaliser)",
    )
    patches: list[dict[str, Any]] | None = Field(None, min_length=1, description="patch-cutting variants to compare")
    overrides: list[Override] = Field(default_factory=list)
    exclude: list[dict[Literal["backbone", "strategy", "normaliser", "seed"], str | int]] = Field(
        default_factory=list, description="cells left out: every run matching one of these (name or label)"
    )

    @field_validator("patches")
    @classmethod
    def _patch_variants(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        for variant in value or []:
            unknown = sorted(set(variant) - set(PatchParams.model_fields))
            if unknown:
                raise ValueError(
                    f"unknown patch parameter(s) {', '.join(unknown)}; expected some of "
                    f"{', '.join(PatchParams.model_fields)}"
                )
        return value


#: the matrix keys a selection can group by
Axis = Literal["backbone", "strategy", "normaliser", "patches"]
AXES: tuple[Axis, ...] = ("backbone", "strategy", "normaliser", "patches")


class Select(Strict):
    """Hyperparameter selection as the study did it: among the runs that share the
    ``within`` keys (a cell), the hyperparameter set with the best validation score is
    kept for Tables II-IV (with several seeds, the best mean over seeds); every run stays
    in the report's appendix. Chosen on the validation split only."""

    by: Literal["val_loss", "val_accuracy"] = "val_loss"
    within: list[Axis] = Field(default_factory=lambda: list[Axis](["backbone", "strategy"]))


class EarlyStopping(Strict):
    patience: int = Field(7, ge=1, le=10_000)
    min_delta: float = Field(0.01, ge=0.0, le=1e6)


class Training(Strict):
    optimizer: Literal["adam"] = "adam"
    max_epochs: int = Field(100, ge=1, le=100_000)
    early_stopping: EarlyStopping = EarlyStopping()
    pretrained: bool = True
    weights: dict[str, str] = Field(default_factory=dict, description="backbone name -> local weights file")
    device: str = "auto"
    deterministic: bool = True
    eval_batch_size: int = Field(64, ge=1, le=4096)
    augment: list[Literal["hflip", "vflip", "rot90"]] = Field(
        default_factory=list, description="on-device augmentation of training batches"
    )

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", value):
            raise ValueError("expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
        return value


class Threshold(Strict):
    """How a saliency map becomes a region for region scores such as the LL's IoU
    (``benchmark/evaluation/thresholds.py``). The study gives no rule, so none of these
    is "the study's": ``value``: pixels whose saliency is at least ``value`` (maps are
    in [0, 1]); ``top-percent``: the ``value`` per cent most salient pixels;
    ``mask-area``: as many of the most salient pixels as the lesion mask has;
    ``otsu``: Otsu's threshold of each map on its own; ``validation``: the value
    threshold (0.05 ... 0.95) with the best mean score on the run's validation split,
    chosen per run and explainer, never on the test split. ``value`` is unused by the
    last three. A bare number in a spec means ``{rule: value, value: N}``."""

    rule: Literal["value", "top-percent", "mask-area", "otsu", "validation"] = "value"
    value: float = 0.5

    @model_validator(mode="after")
    def _in_range(self) -> Threshold:
        if self.rule == "value" and not 0.0 < self.value < 1.0:
            raise ValueError("a 'value' threshold lies strictly between 0 and 1")
        if self.rule == "top-percent" and not 0.0 < self.value < 100.0:
            raise ValueError("a 'top-percent' threshold lies strictly between 0 and 100")
        return self

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"rule": "value", "value": value}
        if isinstance(value, str):  # otsu, validation, mask-area
            return {"rule": value}
        return value

    def label(self) -> str:
        """Short name, used in metric names (``iou@otsu``) and table headers."""
        return {
            "value": f"{self.value:g}",
            "top-percent": f"top{self.value:g}%",
            "mask-area": "mask-area",
            "otsu": "otsu",
            "validation": "validation",
        }[self.rule]

    def describe(self) -> str:
        validation = "thresholded at the value chosen on the validation split (per run and explainer)"
        return {
            "value": f"thresholded at {self.value:g}",
            "top-percent": f"cut to its top {self.value:g}% of pixels",
            "mask-area": "cut to as many top pixels as the mask has",
            "otsu": "thresholded by Otsu's method (each map on its own)",
            "validation": validation,
        }[self.rule]


#: the localisation scores reported beside LL unless a spec lists its own
DEFAULT_LOCALISATION_METRICS = [
    "iou-sweep",
    "pointing-game",
    "energy-pointing-game",
    "relevance-mass",
    "relevance-rank",
]


class Localisation(Strict):
    """The LL score (``metric`` with ``threshold``: Table IV), the same score under
    further threshold rules (``threshold_rules``, reported as ``<metric>@<rule>``) and
    further localisation scores (``metrics``), each computed for every explainer and for
    the baseline on the same patches."""

    metric: PluginRef = Field(PluginRef(name="iou"), json_schema_extra={"plugin": "localisation"})
    threshold: Threshold = Threshold()
    threshold_rules: list[Threshold] = Field(
        default_factory=lambda: [Threshold(rule="otsu"), Threshold(rule="validation")],
        description="further rules the LL is also reported under",
    )
    metrics: list[PluginRef] = Field(
        default_factory=lambda: [PluginRef(name=n) for n in DEFAULT_LOCALISATION_METRICS],
        json_schema_extra={"plugin": "localisation"},
    )

    def rules(self) -> list[Threshold]:
        """The LL's rule, then each further rule once."""
        return list(dict.fromkeys([self.threshold, *self.threshold_rules]))

    def rule_metric(self, rule: Threshold) -> str:
        """The name a further rule's LL is reported under (``iou@otsu``)."""
        return f"{self.metric.label()}@{rule.label()}"


#: the sanity tests (``explain.sanity.tests``), each described where it is computed
SanityTest = Literal["top-down", "bottom-up", "independent", "random-logit"]
SANITY_TESTS: tuple[SanityTest, ...] = ("top-down", "bottom-up", "independent", "random-logit")


class Sanity(Strict):
    """Is the map a function of the model? (Adebayo et al. 2018; Sixt et al. 2020; Binder
    et al. 2023, Quantus.) Each test compares every explainer's maps of ``patches``
    correctly classified test patches with the maps of a changed model (or target) by
    Spearman rank correlation and SSIM: ``top-down`` re-initialises the layer groups from
    the head down, one more per step (passes when the maps differ once every group is
    random); ``bottom-up`` from the input up (passes when they differ once the input-side
    group alone is random); ``independent`` one group at a time (passes when they differ
    for most groups); ``random-logit`` explains another class than the predicted one
    (passes when the maps differ: a class-sensitive map must). ``label_permutation``
    adds Adebayo et al.'s data-randomisation test: the same run trained on permuted
    labels (a second training), its maps compared with the trained model's. Maps
    "differ" when both similarities are below their flag (``flag_above`` for Spearman,
    ``ssim_flag_above`` for SSIM); an explainer that fails a test is flagged."""

    enabled: bool = True
    patches: int = Field(16, ge=2, le=1024)
    flag_above: float = Field(
        0.5, gt=-1.0, lt=1.0, description="Spearman correlation at or above which maps are still alike"
    )
    ssim_flag_above: float = Field(0.5, gt=-1.0, lt=1.0, description="SSIM at or above which maps are still alike")
    tests: list[SanityTest] = Field(
        default_factory=lambda: list(SANITY_TESTS),
        description="the tests to run (data randomisation: label_permutation)",
    )
    label_permutation: bool = Field(False, description="also train the run on permuted labels and compare its maps")
    seed: Seed = 0


#: the faithfulness metrics reported unless a spec lists its own
DEFAULT_FAITHFULNESS_METRICS = ["road-morf", "road-lerf", "road-combined", "deletion", "insertion"]


class Faithfulness(Strict):
    """Does the model use the region a map highlights? Each ``metrics`` entry (a
    faithfulness plugin: ``cbis-bench plugins --kind faithfulness``) scores every
    explainer's and every control's maps of the same correctly classified test lesion
    patches (``patches`` of them at most, evenly spread)."""

    metrics: list[PluginRef] = Field(
        default_factory=lambda: [PluginRef(name=n) for n in DEFAULT_FAITHFULNESS_METRICS],
        json_schema_extra={"plugin": "faithfulness"},
    )
    patches: int = Field(128, ge=1, le=1_000_000)


class Verdict(Strict):
    """One verdict per correctly classified test lesion patch and explainer: *localised*
    when the IoU of its map's region (``threshold``) with the mask is above the strongest
    control's on that patch by ``margin``; *faithful* when removing its top ``removal`` %
    of pixels (noisy linear imputation) lowers the predicted class's probability more,
    by ``faithful_margin``, than removing the top ``removal`` % of a smooth random map
    (the mean over ``draws`` of them: blobs of the same share, placed without looking)."""

    threshold: Threshold = Field(
        default_factory=lambda: Threshold(rule="otsu"),
        description="the rule that makes a map a region for the localised verdict",
    )
    margin: float = Field(0.05, ge=0.0, le=1.0)
    removal: float = Field(20.0, gt=0.0, lt=100.0)
    faithful_margin: float = Field(0.0, ge=0.0, le=1.0)
    draws: int = Field(4, ge=1, le=64)
    seed: Seed = 0

    @field_validator("threshold")
    @classmethod
    def _resolved(cls, value: Threshold) -> Threshold:
        if value.rule == "validation":
            raise ValueError(
                "the verdict's rule is applied per patch: 'validation' is not one (use otsu, a value, "
                "top-percent or mask-area)"
            )
        return value


class Agreement(Strict):
    """Repeatability and reproducibility (Arun et al. 2021): the maps of the same test
    lesion patch (explained for its true class) from runs that differ only in seed, and
    from runs of other backbones or strategies, compared by SSIM and Spearman, beside the
    same statistic between maps of randomly paired different patches (the floor). Maps
    are stored at ``size`` pixels a side; ``patches`` of them are compared at most."""

    enabled: bool = True
    patches: int = Field(128, ge=2, le=100_000)
    size: int = Field(64, ge=8, le=1024)
    seed: Seed = 0


#: the model-free maps every score is set beside unless a spec lists its own
DEFAULT_CONTROLS = ["constant", "centre", "intensity", "edges", "random"]


class Explain(Strict):
    """Explainers scored by the localisation and faithfulness metrics, beside model-free
    ``controls`` at the same settings: a score is evidence about the model only where it
    beats the strongest control. ``baseline`` (random maps) is always computed and shown
    as the chance level, listed or not."""

    explainers: list[PluginRef] = Field(
        default_factory=lambda: [PluginRef(name="gradcam-batched")],
        min_length=1,
        json_schema_extra={"plugin": "explainer"},
    )
    baseline: PluginRef = Field(PluginRef(name="random"), json_schema_extra={"plugin": "explainer"})
    controls: list[PluginRef] = Field(
        default_factory=lambda: [PluginRef(name=n) for n in DEFAULT_CONTROLS],
        json_schema_extra={"plugin": "explainer"},
        description="model-free maps (explainer plugins) every score is set beside",
    )
    localisation: Localisation = Localisation()
    faithfulness: Faithfulness = Faithfulness()
    verdict: Verdict = Verdict()
    agreement: Agreement = Agreement()
    batch_size: int = Field(32, ge=1, le=4096)
    sanity: Sanity = Sanity()
    gallery: int = Field(3, ge=0, le=16, description="patches per row of the report's saliency gallery")

    def scored(self) -> list[PluginRef]:
        """The listed explainers, then the controls and the baseline (each once)."""
        return list({ref.label(): ref for ref in [*self.explainers, *self.controls, self.baseline]}.values())

    def scored_explainers(self) -> list[str]:
        """Labels of :meth:`scored`: how results name them."""
        return labels(self.scored())

    def control_labels(self) -> list[str]:
        """The model-free maps: the controls, then the baseline (each once)."""
        return list(dict.fromkeys(labels([*self.controls, self.baseline])))

    def explainer_labels(self) -> list[str]:
        """The explainers under evaluation (one also listed as a control counts as a control)."""
        controls = set(self.control_labels())
        return [label for label in labels(self.explainers) if label not in controls]

    @property
    def baseline_label(self) -> str:
        return self.baseline.label()


class Bootstrap(Strict):
    """Confidence intervals and paired comparisons, computed at report time from the
    stored per-patch results: test patches resampled within each class."""

    resamples: int = Field(1000, ge=100, le=100_000)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    seed: Seed = 0


#: the cited results a report can show beside ours (``report.baselines``)
CitedBaseline = Literal["petrini-2022", "study"]


class Report(Strict):
    """Cited rows shown beside ours: ``petrini-2022`` (the study's baseline) and ``study``
    (the reproduced study's own reported results)."""

    baselines: list[CitedBaseline] = Field(default_factory=lambda: list[CitedBaseline](["petrini-2022", "study"]))
    bootstrap: Bootstrap = Bootstrap()
    figures: bool = True


class Resources(Strict):
    """What each run asks of a Ray cluster (the local executor ignores it)."""

    cpus: float = Field(1.0, gt=0, le=1024)
    gpus: float = Field(0.0, ge=0, le=64)


class WholeImage(Strict):
    """The whole-mammogram stage (``benchmark/whole``, docs/whole-image.md): after the
    patch runs, each chosen patch run feeds ``models``. Outside every patch run's id."""

    patch_runs: Literal["all", "selected"] = Field(
        "selected", description="every patch run, or the one the selection keeps per cell (needs select:)"
    )
    models: list[PluginRef] = Field(
        min_length=1,
        json_schema_extra={"plugin": "whole_model"},
        description="registered whole-image models (cbis-bench plugins), each a name or {name, options}: each is "
        "built on every chosen patch run",
    )
    image_size: tuple[Annotated[int, Field(ge=32, le=8192)], Annotated[int, Field(ge=32, le=8192)]] = Field(
        (1152, 896), description="[height, width] every mammogram is resized to (Shen et al. 2019: 1152 x 896)"
    )
    window: int | None = Field(None, ge=8, le=4096, description="heatmap window side (default: dataset.patches.size)")
    stride: int | None = Field(None, ge=1, le=4096, description="heatmap stride (default: half the window)")
    epochs: int = Field(30, ge=1, le=10_000, description="most epochs of each phase of the Shen model's training")
    batch_size: int = Field(2, ge=1, le=1024, description="images per forward pass (what the device allows)")
    effective_batch: int | None = Field(
        None,
        ge=1,
        le=4096,
        description="images per optimiser step: gradients of "
        "effective_batch / batch_size passes are accumulated (default: batch_size)",
    )
    lr: LearningRate = Field(1e-4, description="learning rate of the new top; the convolutional part gets lr_features")
    lr_features: LearningRate = 1e-5
    top_channels: int = Field(256, ge=4, le=4096, description="channels of the two new convolutional blocks")
    sensitivity_at: list[Annotated[float, Field(gt=0.0, lt=1.0)]] = Field(
        default_factory=lambda: [0.8, 0.9], description="specificities at which sensitivity is reported"
    )
    gallery: int = Field(4, ge=0, le=16, description="whole images in the report's heatmap gallery")

    @model_validator(mode="after")
    def _batches(self) -> WholeImage:
        if self.effective_batch is not None and self.effective_batch % self.batch_size:
            raise ValueError(
                located(
                    "whole_image.effective_batch",
                    f"must be a multiple of batch_size ({self.batch_size}), got {self.effective_batch}",
                )
            )
        if self.window is not None and self.window > min(self.image_size):
            raise ValueError(
                located(
                    "whole_image.window",
                    f"{self.window} is larger than the image ({self.image_size[0]} x {self.image_size[1]})",
                )
            )
        return self

    @property
    def accumulate(self) -> int:
        return (self.effective_batch or self.batch_size) // self.batch_size


class Spec(Strict):
    """A whole benchmark: data, the run matrix, training, explanation and report."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    plugins: list[str] = Field(default_factory=list, description="extra plugin modules to load")
    dataset: DatasetSpec
    normaliser: PluginRef | None = Field(
        None,
        json_schema_extra={"plugin": "normaliser"},
        description="the normaliser of every run (or matrix.normaliser)",
    )
    matrix: Matrix
    select: Select | None = Field(None, description="keep the best hyperparameter set of each cell for the tables")
    training: Training = Training()
    explain: Explain = Explain()
    report: Report = Report()
    resources: Resources = Resources()
    loggers: list[PluginRef] = Field(
        default_factory=list,
        json_schema_extra={"plugin": "logger"},
        description="where each finished run is also recorded (tensorboard, mlflow, ...); never part of a run id",
    )
    whole_image: WholeImage | None = Field(None, description="the whole-mammogram stage after the patch runs")
    #: the ``--set`` overrides this spec was loaded with (already applied; the report names them)
    _overrides: tuple[str, ...] = PrivateAttr(default=())

    @property
    def overrides(self) -> tuple[str, ...]:
        return self._overrides

    @model_validator(mode="after")
    def _consistent(self) -> Spec:
        if (self.normaliser is None) == (self.matrix.normaliser is None):
            raise ValueError(
                located(
                    "normaliser",
                    "give the normaliser either at the top level (normaliser: NAME) or "
                    "as a matrix axis (matrix.normaliser: [NAME, ...]), not both and not neither",
                )
            )
        for variant in self.matrix.patches or []:
            PatchParams.model_validate(self.dataset.patches.model_dump(exclude_unset=True) | variant)
        if self.whole_image is not None and self.whole_image.patch_runs == "selected" and self.select is None:
            raise ValueError(located("whole_image.patch_runs", "'selected' needs a select: section (or say 'all')"))
        m = self.matrix
        axes: dict[str, list[str] | list[int]] = {
            "backbone": [b.name for b in m.backbone] + labels(m.backbone),
            "strategy": [s.name for s in m.strategy] + labels(m.strategy),
            "normaliser": [n.name for n in self.normalisers()] + labels(self.normalisers()),
            "seed": m.seed,
        }
        for i, rule in enumerate(m.exclude):  # a typo would leave in the runs it meant to leave out
            absent = {k: v for k, v in rule.items() if v not in axes[k]}
            if absent:
                k, v = next(iter(absent.items()))
                where = f"matrix.{k}" if k != "normaliser" or m.normaliser is not None else "normaliser"
                raise ValueError(
                    located(
                        f"matrix.exclude[{i}].{k}",
                        f"excludes no run: {v!r} is not in {where} ({', '.join(map(str, dict.fromkeys(axes[k])))})",
                    )
                )
        for i, override in enumerate(m.overrides):
            missing = {k: v for k, v in override.match.items() if v not in axes[k]}
            if missing:
                k, v = next(iter(missing.items()))
                raise ValueError(
                    located(
                        f"matrix.overrides[{i}].match.{k}",
                        f"selects no run: {v!r} is not in matrix.{k} ({', '.join(map(str, dict.fromkeys(axes[k])))})",
                    )
                )
            for hparams in m.hparams:
                try:
                    HParams.model_validate(hparams.model_dump() | override.set)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    raise ValueError(
                        located(
                            f"matrix.overrides[{i}].set.{first['loc'][0]}",
                            f"{first['msg']} (got {first.get('input')!r})",
                        )
                    ) from None
        return self

    def normalisers(self) -> list[PluginRef]:
        if self.matrix.normaliser is not None:
            return list(self.matrix.normaliser)
        assert self.normaliser is not None  # _consistent: one of the two is given
        return [self.normaliser]

    def patch_variants(self) -> list[tuple[dict[str, Any], PatchParams]]:
        """(the variant's changes, the patch parameters it gives) for each patch variant."""
        variants = self.matrix.patches if self.matrix.patches is not None else [{}]
        base = self.dataset.patches.model_dump(exclude_unset=True)
        return [(dict(v), PatchParams.model_validate(base | v)) for v in variants]
