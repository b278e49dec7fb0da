"""The spec's schema. Unknown keys are rejected everywhere (``extra="forbid"``).

Defaults are the study's choices (Adam, early stopping with patience 7 and minimum
improvement 0.01, head 1e-4, last block 3e-5, 0.85/0.15 validation split).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatchParams(Strict):
    """How patches are cut from the mammograms (see docs/data-preparation.md)."""

    size: int = Field(224, ge=8, le=1024, description="side of the square patch fed to the network")
    lesion_margin: float = Field(0.0, ge=0.0, le=2.0, description="margin around the lesion box, fraction of its side")
    lesion_box: Literal["largest", "union"] = Field(
        "largest", description="box of the mask's largest connected component, or of all its components")
    background_size: int = Field(550, ge=8, description="side of background patches in source pixels")
    background_per_image: int = Field(2, ge=0, le=64)
    background_images: Literal["benign-without-callback"] = "benign-without-callback"


class ValidationSplit(Strict):
    """Validation patches taken from the official training split (the same for every run)."""

    fraction: float = Field(0.15, gt=0.0, lt=0.9)
    group_by: Literal["patient", "none"] = "patient"
    stratify: bool = True
    seed: int = 0


class DatasetSpec(Strict):
    plugin: str
    options: dict[str, Any] = Field(default_factory=dict)
    patches: PatchParams = PatchParams()
    validation: ValidationSplit = ValidationSplit()


class HParams(Strict):
    """One hyperparameter set of the matrix."""

    batch_size: int = Field(16, ge=1, le=4096)
    lr_head: float = Field(1e-4, gt=0.0)
    lr_last_block: float = Field(3e-5, gt=0.0)
    lr_decay: float = Field(0.5, gt=0.0, le=1.0, description="learning-rate factor per group toward the input")
    weight_decay: float = Field(0.0, ge=0.0)

    def label(self) -> str:
        return f"bs{self.batch_size} lr{self.lr_head:g}/{self.lr_last_block:g}"


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
            raise ValueError(f"unknown hyperparameter(s) {', '.join(unknown)}; expected some of {', '.join(HParams.model_fields)}")
        return value


class Matrix(Strict):
    """The runs: every combination of backbone, strategy, hyperparameter set and seed."""

    backbone: list[str] = Field(min_length=1)
    strategy: list[str] = Field(min_length=1)
    hparams: list[HParams] = Field(default_factory=lambda: [HParams()], min_length=1)
    seed: list[int] = Field(default_factory=lambda: [0], min_length=1)
    overrides: list[Override] = Field(default_factory=list)


class EarlyStopping(Strict):
    patience: int = Field(7, ge=1)
    min_delta: float = Field(0.01, ge=0.0)


class Training(Strict):
    optimizer: Literal["adam"] = "adam"
    max_epochs: int = Field(100, ge=1)
    early_stopping: EarlyStopping = EarlyStopping()
    pretrained: bool = True
    weights: dict[str, str] = Field(default_factory=dict, description="backbone name -> local weights file")
    device: str = "auto"
    deterministic: bool = True
    eval_batch_size: int = Field(64, ge=1)
    augment: list[Literal["hflip", "vflip", "rot90"]] = Field(
        default_factory=list, description="on-device augmentation of training batches")

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", value):
            raise ValueError("expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
        return value


class Localisation(Strict):
    metric: str = "iou"
    threshold: float = Field(0.5, gt=0.0, lt=1.0, description="saliency threshold of the map in [0, 1]")


class Explain(Strict):
    explainers: list[str] = Field(default_factory=lambda: ["gradcam"])
    localisation: Localisation = Localisation()
    batch_size: int = Field(32, ge=1)


class Report(Strict):
    """Cited rows shown beside ours: ``petrini-2022`` (the study's baseline) and ``study``
    (the reproduced study's own reported results)."""

    baselines: list[Literal["petrini-2022", "study"]] = Field(default_factory=lambda: ["petrini-2022", "study"])


class Resources(Strict):
    """What each run asks of a Ray cluster (the local executor ignores it)."""

    cpus: float = Field(1.0, gt=0)
    gpus: float = Field(0.0, ge=0)


class Spec(Strict):
    """A whole benchmark: data, the run matrix, training, explanation and report."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    plugins: list[str] = Field(default_factory=list, description="extra plugin modules to load")
    dataset: DatasetSpec
    normaliser: str
    matrix: Matrix
    training: Training = Training()
    explain: Explain = Explain()
    report: Report = Report()
    resources: Resources = Resources()
