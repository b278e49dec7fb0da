"""The lesion-localisation (LL) score and its companions: explain, then compare with the mask.

LL is the mean localisation score over *every correctly classified lesion patch* of the
test split, as the study averaged it (background patches have no mask). Maps are
computed in fp32 with the model in eval mode and gradients enabled on every parameter
(frozen layers would otherwise stop Grad-CAM's gradients); the predicted class (here
equal to the true one) is the one explicit target of each image. A map that is zero
everywhere points nowhere: it scores 0 on every metric, is kept in the mean and is
counted (``n_zero_maps``). Every explainer, the baseline included, is scored by every
metric on the same patches; the LL is also given under each further threshold rule
(``<metric>@<rule>``), as a curve over value thresholds, and with the value chosen on
the validation split when a rule asks for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from benchmark.errors import PluginOutputError
from benchmark.evaluation import thresholds
from benchmark.evaluation.records import ExplainerScores, ValidationChoice
from benchmark.plugin_types import Explainer, Normaliser
from benchmark.spec.schema import Threshold
from benchmark.training.device_data import DeviceSplit, as_rgb, to_input

#: how far outside [0, 1] an explainer's values may stray (float rounding) before it is an error
RANGE_TOLERANCE = 1e-3

Metric = Callable[..., np.ndarray]

#: the value a ``validation`` rule falls back to when the validation split has no
#: correctly classified lesion to choose on (tiny data); the result says so
FALLBACK_VALUE = 0.5


@contextlib.contextmanager
def explaining(model: nn.Module) -> Iterator[None]:
    """Eval mode, every parameter requiring grad, fp32; restores requires_grad after."""
    before = {id(p): p.requires_grad for p in model.parameters()}
    model.eval()
    for p in model.parameters():
        p.requires_grad_(True)
    try:
        with torch.enable_grad(), torch.autocast(device_type="cuda", enabled=False):
            yield
    finally:
        for p in model.parameters():
            p.requires_grad_(before[id(p)])
        model.zero_grad(set_to_none=True)


def _checked(maps: Any, n: int, size: tuple[int, int], explainer: Explainer) -> np.ndarray:
    """The explainer's maps as float32 (n, H, W) in [0, 1], or a clear error."""
    if isinstance(maps, torch.Tensor):
        maps = maps.detach().float().cpu().numpy()
    maps = np.asarray(maps, dtype=np.float32)
    where = getattr(explainer, "description", None) or f"explainer {type(explainer).__name__}"
    if maps.shape != (n, *size):
        raise PluginOutputError(
            f"{where} returned maps of shape {maps.shape}; expected {(n, *size)}: one map per "
            "image, at the input's height and width"
        )
    if n and (not np.isfinite(maps).all() or maps.min() < -RANGE_TOLERANCE or maps.max() > 1 + RANGE_TOLERANCE):
        seen = f"from {maps.min():.3g} to {maps.max():.3g}" if np.isfinite(maps).all() else "with NaN or inf"
        raise PluginOutputError(
            f"{where} returned values outside [0, 1] (or not finite): {seen}; every map must be "
            "finite and lie in [0, 1]"
        )
    return np.clip(maps, 0.0, 1.0)


def explain(
    model: nn.Module,
    explainer: Explainer,
    split: DeviceSplit,
    indices: np.ndarray,
    targets: np.ndarray,
    normaliser: Normaliser,
    batch_size: int,
) -> np.ndarray:
    """Maps (len(indices), S, S) for the patches at ``indices``, one explicit target each."""
    indices, targets = np.asarray(indices), np.asarray(targets)
    if indices.shape != targets.shape:
        raise ValueError(f"one target per image: {len(targets)} targets for {len(indices)} patches")
    size = (split.images.shape[-2], split.images.shape[-1])
    raw = getattr(explainer, "input", "normalised") == "raw"  # a model-free map of the image as stored
    out = []
    with explaining(model):
        for start in range(0, len(indices), batch_size):
            idx = torch.as_tensor(indices[start : start + batch_size], device=split.images.device)
            x = as_rgb(split.images[idx]) if raw else to_input(split.images[idx], split.labels[idx], normaliser)
            t = torch.as_tensor(targets[start : start + batch_size], device=split.images.device)
            out.append(_checked(explainer(x, t), len(idx), size, explainer))
    return np.concatenate(out) if out else np.zeros((0, *size), np.float32)


def correct_lesions(has_mask: np.ndarray, predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Positions (in the split) of the patches LL is computed on."""
    return np.flatnonzero(has_mask & (predictions == labels))


@dataclass
class Explained:
    """One split as explainers see it: the model, its resident patches with their masks
    and predictions, the normaliser that makes network input of them."""

    model: nn.Module
    split: DeviceSplit
    masks: np.ndarray  # (N, S, S) bool, split order
    has_mask: np.ndarray  # (N,) bool
    predictions: np.ndarray  # (N,) predicted class
    normaliser: Normaliser
    batch_size: int

    @property
    def labels(self) -> np.ndarray:
        return self.split.labels.cpu().numpy()

    def correct_lesions(self) -> np.ndarray:
        return correct_lesions(self.has_mask, self.predictions, self.labels)

    def maps(self, explainer: Explainer, positions: np.ndarray) -> np.ndarray:
        """Maps of the patches at ``positions``, each explained for its predicted class."""
        positions = np.asarray(positions, dtype=int)
        return explain(
            self.model, explainer, self.split, positions, self.predictions[positions], self.normaliser, self.batch_size
        )


@dataclass
class Scoring:
    """What every map is scored by: the LL metric under its rule and further rules, and
    the companion metrics."""

    metrics: Mapping[str, Metric]  # every metric by name, the LL's included
    ll_metric: str
    threshold: Threshold
    rules: Sequence[Threshold] = field(default_factory=list)  # further rules of the LL

    def rule_metric(self, rule: Threshold) -> str:
        return f"{self.ll_metric}@{rule.label()}"

    def needs_validation(self) -> bool:
        return any(r.rule == "validation" for r in (self.threshold, *self.rules))


def _zero_maps(maps: np.ndarray) -> np.ndarray:
    return maps.reshape(len(maps), -1).max(axis=1) <= 0 if len(maps) else np.zeros(0, bool)


def score_maps(
    maps: np.ndarray, masks: np.ndarray, metrics: Mapping[str, Metric], threshold: Threshold
) -> dict[str, np.ndarray]:
    """Every metric's score per map; a map that is zero everywhere scores 0 on each."""
    zero = _zero_maps(maps)
    out = {}
    for name, fn in metrics.items():
        scores = np.asarray(fn(maps, masks, threshold=threshold), dtype=float) if len(maps) else np.zeros(0)
        out[name] = np.where(zero, 0.0, scores)
    return out


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def _mean(values: np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None


def validation_choice(explainer: Explainer, validation: Explained, scoring: Scoring) -> ValidationChoice:
    """The LL over value thresholds on the validation split's correctly classified
    lesions, and the value that maximises it (the ``validation`` rule's choice; when
    nothing there was classified correctly, :data:`FALLBACK_VALUE`, said so)."""
    chosen = validation.correct_lesions()
    maps = validation.maps(explainer, chosen)
    ll = scoring.metrics[scoring.ll_metric]
    values = thresholds.curve(
        lambda m, k, threshold: score_maps(m, k, {"ll": ll}, threshold)["ll"], maps, validation.masks[chosen]
    )
    best = thresholds.choose_on_validation(values)
    return ValidationChoice(
        n=int(len(chosen)),
        thresholds=list(thresholds.SWEEP),
        ll=values,
        chosen=best,
        fallback=FALLBACK_VALUE if best is None else None,
    )


def score_localisation(
    maps: np.ndarray,
    chosen: np.ndarray,
    masks: np.ndarray,
    scoring: Scoring,
    validation: ValidationChoice | None = None,
) -> ExplainerScores:
    """LL and every metric's per-patch scores of ``maps``, the maps of the split positions
    ``chosen`` (its correctly classified lesion patches) with their ``masks``."""
    zero = _zero_maps(maps)
    value = None
    if scoring.needs_validation():
        if validation is None:
            raise ValueError("a 'validation' threshold rule needs the validation split")
        value = validation.chosen if validation.chosen is not None else validation.fallback
    primary = thresholds.resolved(scoring.threshold, value)
    ll_fn = {scoring.ll_metric: scoring.metrics[scoring.ll_metric]}
    scores = score_maps(maps, masks, scoring.metrics, primary)
    for rule in scoring.rules:
        rule_scores = score_maps(maps, masks, ll_fn, thresholds.resolved(rule, value))
        scores[scoring.rule_metric(rule)] = rule_scores[scoring.ll_metric]
    ll = scores.pop(scoring.ll_metric)
    curve = thresholds.curve(lambda m, k, threshold: score_maps(m, k, ll_fn, threshold)[scoring.ll_metric], maps, masks)
    return ExplainerScores.model_validate(
        {
            "ll": _mean(ll),
            "threshold": primary.model_dump(),
            "n_correct_lesions": int(len(chosen)),
            "n_scored": int(len(chosen)),
            "n_zero_maps": int(zero.sum()),
            "zero_map_index": chosen[zero].tolist(),
            "patch_index": chosen.tolist(),
            "scores": _rounded(ll),
            "metrics": {name: {"mean": _mean(v), "scores": _rounded(v)} for name, v in scores.items()},
            "curve": {"thresholds": list(thresholds.SWEEP), "ll": curve},
            "validation": validation,
        }
    )


def localisation_scores(
    explainer: Explainer, test: Explained, scoring: Scoring, validation: Explained | None = None
) -> ExplainerScores:
    """LL and every metric's per-patch scores on the correctly classified lesion patches
    of ``test``. ``patch_index`` and ``zero_map_index`` are positions in the split."""
    chosen = test.correct_lesions()
    maps = test.maps(explainer, chosen)
    choice = None
    if scoring.needs_validation():
        if validation is None:
            raise ValueError("a 'validation' threshold rule needs the validation split")
        choice = validation_choice(explainer, validation, scoring)
    return score_localisation(maps, chosen, test.masks[chosen], scoring, choice)
