"""A run's result: a typed, versioned record. The store writes it; the report, the
regression gate and the executors read it through these types, never through string
keys.

``SCHEMA_VERSION`` says which shape a stored result has. A result of another version,
or a damaged file, fails to load with a message naming the file and what to do
(:class:`ResultError`), never a ``KeyError`` in a table. Bump the version whenever a
field changes meaning or shape.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from benchmark.errors import UserError
from benchmark.evaluation.records import (  # noqa: F401 (the result's parts, importable from here too)
    Averages,
    ClassScores,
    Curve,
    ExplainerScores,
    ExplainerVerdicts,
    Faithfulness,
    FaithfulnessMetricInfo,
    FaithfulnessScores,
    Localisation,
    MetricScores,
    Predictions,
    Sanity,
    SanityCurve,
    SanityTest,
    TestMetrics,
    ValidationChoice,
    Verdicts,
)
from benchmark.record import Record
from benchmark.training.epoch import Epoch

#: the shape of a stored result; results of another version are refused with a message
SCHEMA_VERSION = 4
#: what to do about a damaged or foreign stored result: it costs that run's evaluation only
RERUN_ONE = (
    "Run the spec again (cbis-bench run): this run alone is evaluated again from its kept training, the others "
    "are untouched (--rerun would recompute every run)."
)


# --------------------------------------------------------------------------- data and model
class ValidationInfo(Record):
    fraction: float
    group_by: str
    stratify: bool
    seed: int
    method: str


class DataInfo(Record):
    hash: str
    counts: dict[str, dict[str, int]]  # split -> class -> patches
    patches: dict[str, Any]  # the patch-cutting parameters
    variant: str  # the patch variant's changes ("default" without an ablation axis)
    warnings: list[str] = Field(default_factory=list)
    validation: ValidationInfo


class GroupInfo(Record):
    name: str
    parameters: int
    weight_layers: int


class ModelInfo(Record):
    backbone: str
    pretrained: str
    frozen_groups: int
    weights_hash: str
    target_layer: str | None
    groups: list[GroupInfo]
    training_key: str  # where the trained weights are kept (shared by runs that train the same)
    # a model built over another registered backbone names it and what kind of model it is
    # (backbone info "builds_on", "kind"): the report sets it beside that backbone's runs
    builds_on: str | None = None
    kind: str | None = None


class PhaseInfo(Record):
    name: str
    learning_rates: dict[str, float]


class NormaliserInfo(Record):
    name: str
    uses_labels: bool
    state: dict[str, Any]


# --------------------------------------------------------------------------- training
class TrainingInfo(Record):
    history: list[Epoch]
    best_epoch: int
    best_val_loss: float | None
    phase_best_epochs: list[int]

    def epoch(self, number: int) -> Epoch | None:
        return next((h for h in self.history if h.epoch == number), None)


# --------------------------------------------------------------------------- the whole
class Provenance(Record):
    git_revision: str | None
    versions: dict[str, str]
    device: str
    seed: int
    deterministic: bool
    cublas_workspace_config: str | None
    torch_threads: int
    plugins: dict[str, str] = Field(default_factory=dict)  # "kind name" -> the plugin code that served it


class Measurements(Record):
    """Measured, not determined: left out when two results are compared for identity."""

    started: str
    seconds: dict[str, float]
    memory: dict[str, Any]
    cache_key: str = ""  # the patch cache entry of this home the run read (runs --prune keeps it); a local fact


class Axes(Record):
    normaliser: bool = False
    patches: bool = False


class RunResult(Record):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    label: str
    spec: str
    spec_hash: str
    config: dict[str, Any]
    axes: Axes
    data: DataInfo
    model: ModelInfo
    phases: list[PhaseInfo]
    normaliser: NormaliserInfo
    training: TrainingInfo
    test: TestMetrics
    localisation: Localisation
    faithfulness: Faithfulness | None = None
    sanity: Sanity | None = None
    verdicts: Verdicts | None = None
    predictions: Predictions
    fingerprint: str
    provenance: Provenance
    measurements: Measurements

    @property
    def backbone(self) -> str:
        return self.model.backbone

    @property
    def strategy(self) -> str:
        return str(self.config["strategy"])

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    @property
    def batch_size(self) -> int:
        return int(self.config["hparams"]["batch_size"])

    def without_measurements(self) -> dict[str, Any]:
        """Everything that the run determines (what two identical runs share)."""
        return self.model_dump(mode="json", exclude={"measurements"})

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ResultError(UserError):
    """A stored result that cannot be read as this harness's result."""


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def parse_result(data: Any, where: str | Path) -> RunResult:
    """A stored result as :class:`RunResult`, or a :class:`ResultError` that says why not."""
    if not isinstance(data, dict):
        raise ResultError(f"{where}: not a run result (a JSON object was expected)")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultError(
            f"{where}: a run result of another harness version (schema {version or 'before 3'}, this harness reads "
            f"{SCHEMA_VERSION})",
            hint=RERUN_ONE,
        )
    try:
        return RunResult.model_validate(_nan_to_none(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise ResultError(
            f"{where}: a damaged run result ({len(exc.errors())} problem(s); first: {path}: {first['msg']})",
            hint=RERUN_ONE,
        ) from None


def read_result(path: Path) -> RunResult:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultError(f"{path}: cannot read the run result ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultError(
            f"{path}: a damaged run result (not JSON: {exc.msg}, line {exc.lineno})",
            hint=RERUN_ONE,
        ) from None
    return parse_result(data, path)
