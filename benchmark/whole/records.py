"""The whole-image stage's records: one (patch run, whole-image model) result as it is
stored (``runs/<spec>/whole/<id>/result.json``) and as the report reads it."""

from __future__ import annotations

from typing import Any

from benchmark.record import Record


class WholeEstimate(Record):
    estimate: float | None
    low: float | None
    high: float | None


class WholeLocalisation(Record):
    """The maps against every lesion mask of the image, beside uniform random maps."""

    images: int  # test images with a lesion mask
    threshold: str
    pointing_game: float | None
    pointing_game_random: float | None
    iou: float | None
    iou_random: float | None


class WholeTest(Record):
    """The test images (their keys, labels and the model's scores), in split order."""

    keys: list[str]
    labels: list[int]
    scores: list[float]


class WholeMeasurements(Record):
    seconds: float
    images_per_second: float
    memory: dict[str, Any]


class WholeResult(Record):
    """One whole-image model on one finished patch run: AUC [interval], ROC, sensitivity
    at each specificity, localisation, the test scores (from which the image-level
    numbers are recomputed at report time), the model's details and what was measured."""

    id: str
    settings: str
    model: str  # the model's label (name and options)
    description: str
    patch_run: str
    patch_label: str
    backbone: str
    strategy: str
    images_key: str
    image_size: list[int]
    counts: dict[str, dict[str, int]]
    auc: WholeEstimate
    roc: dict[str, list[float]]
    sensitivity_at: dict[str, float]
    images: int
    malignant: int
    localisation: WholeLocalisation
    test: WholeTest
    details: dict[str, Any]
    measurements: WholeMeasurements
