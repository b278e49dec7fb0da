"""The core calling a plugin: each kind's object called one way, its options validated
by the plugin's own options model, its output checked, and any problem reported with
the plugin's name, before anything is stored.

A factory is called with only the arguments it accepts (a backbone factory without a
``weights`` parameter is called without it, and is refused only when weights were
asked for), and with the options the spec gave it, validated by the entry's options
model (``register(name, obj, options=Model)`` or an ``Options`` attribute on ``obj``).
"""

from __future__ import annotations

import contextvars
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.errors import PluginOutputError, UserError
from benchmark.plugin_types import Backbone, LayerGroup, Phase
from benchmark.registry import Entry

if TYPE_CHECKING:
    from benchmark.plugin_types import FaithfulnessScores
    from benchmark.registry.loading import Registries
    from benchmark.spec.schema import HParams, PluginRef


def describe(entry: Entry) -> str:
    return f"{entry.kind} '{entry.name}' (plugin '{entry.plugin}', {entry.source})"


def options_model(entry: Entry) -> Any | None:
    """The pydantic model that validates this entry's options, if it has one."""
    return entry.options or getattr(entry.obj, "Options", None)


def validated_options(entry: Entry, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options as the plugin's model validates them (raises pydantic's
    ValidationError); without a model, only an empty mapping is accepted."""
    model = options_model(entry)
    if model is None:
        if options:
            raise UserError(f"{describe(entry)} takes no options (got {', '.join(sorted(options))})")
        return {}
    return model.model_validate(dict(options)).model_dump(exclude_unset=True)


def _call(entry: Entry, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with the keyword arguments ``fn`` does not accept left out."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn(*args, **kwargs)
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return fn(*args, **kwargs)


def _entry(regs: Registries, kind: str, ref: PluginRef | str) -> tuple[Entry, dict[str, Any]]:
    name, options = (ref, {}) if isinstance(ref, str) else (ref.name, ref.options)
    entry = regs.get(kind, name)
    try:
        return entry, validated_options(entry, options)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{describe(entry)}: invalid options: {exc}") from None


# --------------------------------------------------------------------------- backbones
#: the registries of the backbone being built, so that a backbone wrapping another one
#: (``benchmark.api.build_backbone``) finds the wrapped one among the same plugins
_BUILDING: contextvars.ContextVar[Registries | None] = contextvars.ContextVar("building", default=None)


def build_backbone(
    regs: Registries, ref: PluginRef | str, *, num_classes: int, pretrained: bool, weights: str | None = None
) -> Backbone:
    entry, options = _entry(regs, "backbone", ref)
    factory = entry.obj
    if (
        weights is not None
        and "weights" not in inspect.signature(factory).parameters
        and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(factory).parameters.values())
    ):
        raise UserError(f"{describe(entry)} takes no local weights file (training.weights names one for it)")
    token = _BUILDING.set(regs)
    try:
        backbone = _call(entry, factory, num_classes=num_classes, pretrained=pretrained, weights=weights, **options)
    finally:
        _BUILDING.reset(token)
    check_backbone(entry, backbone, num_classes)
    return backbone


def build_inner_backbone(name: str, num_classes: int, pretrained: bool = False, weights: str | None = None) -> Backbone:
    """For a backbone plugin that wraps another registered backbone (``name``): built and
    checked as the core builds any backbone, from the plugins of the backbone being built
    (all installed plugins when called on its own). An unknown name is a UserError with
    the closest match."""
    regs = _BUILDING.get()
    if regs is None:
        from benchmark.registry.loading import load_registries

        regs = load_registries()
    return build_backbone(regs, name, num_classes=num_classes, pretrained=pretrained, weights=weights)


def check_backbone(entry: Entry, backbone: Any, num_classes: int) -> None:
    """The backbone contract: groups that partition the parameters, input to output, the
    head last; a target layer inside the model; features sharing the model's weights."""
    from benchmark.models.grouping import check_partition

    where = describe(entry)
    if not isinstance(backbone, Backbone):
        raise PluginOutputError(f"{where} returned {type(backbone).__name__}, not a benchmark.api.Backbone")
    if len(backbone.groups) < 2 or not all(isinstance(g, LayerGroup) for g in backbone.groups):
        raise PluginOutputError(
            f"{where}: needs at least two layer groups (features, then the head), got {len(backbone.groups)}"
        )
    try:
        check_partition(backbone.model, backbone.groups)
    except ValueError as exc:
        raise PluginOutputError(
            f"{where}: its layer groups do not partition the model's parameters ({exc}); "
            "every parameter must be in exactly one group"
        ) from None
    modules = {id(m) for m in backbone.model.modules()}
    if id(backbone.target_layer) not in modules:
        raise PluginOutputError(f"{where}: its target layer is not a module of its model")
    if backbone.features is not None:
        params = {id(p) for p in backbone.model.parameters()}
        if any(id(p) not in params for p in backbone.features.parameters()):
            raise PluginOutputError(f"{where}: its features hold parameters that are not the model's")
    if backbone.frozen is not None and not 0 <= backbone.frozen < len(backbone.groups) - 1:
        raise PluginOutputError(f"{where}: frozen={backbone.frozen} must leave a feature group and the head to train")


def check_logits(where: str, logits: Any, batch: int, num_classes: int) -> None:
    """The classifier's answer to a batch: finite logits of shape (batch, num_classes).
    (Training would otherwise fail later, at the loss, with a message about targets.)"""
    shape = tuple(getattr(logits, "shape", ()))
    if not hasattr(logits, "shape") or not hasattr(logits, "detach"):
        raise PluginOutputError(
            f"{where}: the model returned {type(logits).__name__}; expected a tensor of logits "
            f"of shape ({batch}, {num_classes})"
        )
    if shape != (batch, num_classes):
        raise PluginOutputError(
            f"{where}: the classifier's output has shape {shape}, expected "
            f"({batch}, {num_classes}) for {num_classes} classes (one logit per class and image)"
        )
    if not bool(logits.detach().isfinite().all()):
        raise PluginOutputError(f"{where}: the classifier's output holds NaN or inf")


# --------------------------------------------------------------------------- strategies
def make_phases(
    regs: Registries, ref: PluginRef | str, backbone: Backbone, frozen: int, hparams: HParams
) -> list[Phase]:
    entry, options = _entry(regs, "strategy", ref)
    phases = _call(entry, entry.obj, backbone.groups, frozen, hparams, backbone=backbone, **options)
    where = describe(entry)
    if not isinstance(phases, list) or not phases or not all(isinstance(p, Phase) for p in phases):
        raise PluginOutputError(f"{where} must return a non-empty list of benchmark.api.Phase, got {phases!r:.80}")
    for phase in phases:
        bad = [
            i
            for i, lr in phase.learning_rates.items()
            if not (isinstance(i, int) and 0 <= i < len(backbone.groups)) or not (math.isfinite(lr) and lr > 0)
        ]
        if phase.epochs is not None and not (isinstance(phase.epochs, int) and phase.epochs >= 1):
            raise PluginOutputError(f"{where}: phase '{phase.name}' has epochs={phase.epochs!r}; expected None or >= 1")
        if phase.carry not in ("best", "last"):
            raise PluginOutputError(
                f"{where}: phase '{phase.name}' has carry={phase.carry!r}; expected 'best' or 'last'"
            )
        if bad or not (phase.learning_rates or phase.action):
            raise PluginOutputError(
                f"{where}: phase '{phase.name}' trains no group, or names groups that do not "
                f"exist or rates that are not positive: {bad}"
            )
    return phases


# --------------------------------------------------------------------------- normalisers
def make_normaliser(regs: Registries, ref: PluginRef | str) -> Any:
    entry, options = _entry(regs, "normaliser", ref)
    normaliser = _call(entry, entry.obj, **options)
    for attribute in ("fit", "__call__", "state_dict"):
        if not callable(getattr(normaliser, attribute, None)):
            raise PluginOutputError(f"{describe(entry)} built an object without {attribute}()")
    if not isinstance(getattr(normaliser, "uses_labels", None), bool):
        raise PluginOutputError(f"{describe(entry)} built an object without a boolean uses_labels")
    return normaliser


def check_normalised(where: str, before: Any, after: Any) -> None:
    """A normaliser's answer: a finite tensor of the shape it was given."""
    import torch

    if not isinstance(after, torch.Tensor):
        got = type(after).__name__
    elif after.shape != before.shape:
        got = f"shape {tuple(after.shape)}"
    elif not bool(torch.isfinite(after).all()):
        got = "NaN or inf"
    else:
        return
    raise PluginOutputError(
        f"{where} must return finite images of the shape it was given, {tuple(before.shape)}; got {got}"
    )


def check_normaliser_state(where: str, state: Any) -> None:
    """``state_dict()`` goes into the run's results.json the way the store writes it
    (pydantic's JSON mode, non-finite floats as null): it must survive that."""
    import json

    from pydantic import TypeAdapter

    from benchmark.files import finite

    if not isinstance(state, dict):
        raise PluginOutputError(f"{where}: state_dict() returned {type(state).__name__}; expected a dict")
    try:
        json.dumps(finite(TypeAdapter(dict[str, Any]).dump_python(state, mode="json")), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PluginOutputError(
            f"{where}: state_dict() must hold JSON values only (numbers, strings, lists, dicts: "
            f"it is stored in results.json); {str(exc).splitlines()[0]}"
        ) from None


# --------------------------------------------------------------------------- explainers
class NamedExplainer:
    """A plugin's explainer with how messages name it (``description``), so that the
    check of its maps names the plugin; every other attribute is the plugin object's."""

    def __init__(self, explainer: Any, description: str) -> None:
        self.explainer, self.description = explainer, description

    def __call__(self, images: Any, targets: Any) -> Any:
        return self.explainer(images, targets)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.explainer, name)


def make_explainer(regs: Registries, ref: PluginRef | str, backbone: Backbone) -> tuple[Any, str]:
    """The explainer (None when its factory declines this backbone) and how messages name it."""
    entry, options = _entry(regs, "explainer", ref)
    explainer, where = _call(entry, entry.obj, backbone, **options), describe(entry)
    return (None if explainer is None else NamedExplainer(explainer, where)), where


def explainer_factories(regs: Registries, refs: Sequence[PluginRef]) -> dict[str, Callable[[Backbone], Any]]:
    """Label -> a one-argument factory ``backbone -> explainer`` for each ref."""

    def factory(ref: PluginRef) -> Callable[[Backbone], Any]:
        return lambda backbone: make_explainer(regs, ref, backbone)[0]

    return {ref.label(): factory(ref) for ref in refs}


# --------------------------------------------------------------------------- localisation metrics
def metric(regs: Registries, ref: PluginRef | str) -> Callable[..., np.ndarray]:
    """The metric with its options bound and its output checked: one finite score per map."""
    entry, options = _entry(regs, "localisation", ref)
    fn = entry.obj
    where = describe(entry)

    def checked(maps: np.ndarray, masks: np.ndarray, *, threshold: Any = None) -> np.ndarray:
        out = np.asarray(_call(entry, fn, maps, masks, threshold=threshold, **options), dtype=float)
        if out.shape != (len(maps),) or not np.isfinite(out).all():
            raise PluginOutputError(
                f"{where} must return one finite score per map: shape ({len(maps)},), "
                f"got shape {out.shape}" + ("" if np.isfinite(out).all() else " with NaN or inf")
            )
        return out

    checked.__doc__ = fn.__doc__
    return checked


# --------------------------------------------------------------------------- faithfulness metrics
@dataclass(frozen=True)
class CheckedFaithfulness:
    """A faithfulness metric with its options bound: called as the core calls it, its
    answer checked (one finite score per map), and which way its score points."""

    where: str
    fn: Callable[..., Any]
    options: Mapping[str, Any]
    higher_is_better: bool

    def __call__(self, model: Any, inputs: Any, maps: Any, targets: Any) -> FaithfulnessScores:
        from benchmark.plugin_types import FaithfulnessScores

        out = self.fn(model, inputs, maps, targets, **self.options)
        if not isinstance(out, FaithfulnessScores):
            out = FaithfulnessScores(scores=out)
        scores = _as_numpy(out.scores)
        n = len(maps)
        if scores.shape != (n,) or not np.isfinite(scores).all():
            raise PluginOutputError(
                f"{self.where} must return one finite score per map: shape ({n},), "
                f"got shape {scores.shape}" + ("" if np.isfinite(scores).all() else " with NaN or inf")
            )
        curve = None if out.curve is None else _as_numpy(out.curve)
        steps = [float(v) for v in out.steps]
        if curve is not None and (curve.shape != (n, len(steps)) or not np.isfinite(curve).all()):
            raise PluginOutputError(
                f"{self.where}: its curve must be finite, shape ({n}, {len(steps)}) for its "
                f"{len(steps)} steps; got {curve.shape}"
            )
        return FaithfulnessScores(scores, steps, curve)


def _as_numpy(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().float().cpu().numpy()
    return np.asarray(values, dtype=float)


def faithfulness_metric(regs: Registries, ref: PluginRef | str) -> CheckedFaithfulness:
    entry, options = _entry(regs, "faithfulness", ref)
    orientation = getattr(entry.obj, "higher_is_better", True)
    if not isinstance(orientation, bool):
        raise PluginOutputError(f"{describe(entry)}: higher_is_better must be True or False, got {orientation!r}")
    return CheckedFaithfulness(describe(entry), entry.obj, options, orientation)


# --------------------------------------------------------------------------- loggers
def make_logger(regs: Registries, ref: PluginRef | str, home: Any, spec: str) -> Any:
    """The logger, built before any training (so a missing extra stops a run at once)."""
    entry, options = _entry(regs, "logger", ref)
    logger = _call(entry, entry.obj, home, spec, **options)
    for attribute in ("log", "close"):
        if not callable(getattr(logger, attribute, None)):
            raise PluginOutputError(f"{describe(entry)} built an object without {attribute}()")
    return logger


# ---------------------------------------------------------------- whole-image models
def run_whole_model(regs: Registries, ref: PluginRef | str, context: Any, n_test: int) -> Any:
    """The model's answer on the ``n_test`` test images, checked: one finite score per
    image and one finite map in [0, 1] of the image's size per image."""
    from benchmark.plugin_types import WholeImageOutput

    entry, options = _entry(regs, "whole_model", ref)
    out = _call(entry, entry.obj, context, **options)
    if not isinstance(out, WholeImageOutput):
        raise PluginOutputError(f"{describe(entry)} must return a WholeImageOutput, got {type(out).__name__}")
    scores, maps = np.asarray(out.scores, dtype=float), np.asarray(out.maps, dtype=np.float32)
    shape = (n_test, *context.images.shape[1:])
    if scores.shape != (n_test,) or not np.isfinite(scores).all():
        raise PluginOutputError(
            f"{describe(entry)} must return one finite score per test image: shape ({n_test},), got {scores.shape}"
        )
    if maps.shape != shape or not np.isfinite(maps).all() or maps.min(initial=0) < 0 or maps.max(initial=0) > 1 + 1e-6:
        raise PluginOutputError(
            f"{describe(entry)} must return finite maps in [0, 1] of shape {shape}, got {maps.shape}"
        )
    return WholeImageOutput(scores, maps, dict(out.details))


# --------------------------------------------------------------------------- datasets
def make_dataset(regs: Registries, name: str, options: Mapping[str, Any], cache_dir: Any) -> Any:
    entry = regs.get("dataset", name)
    model = getattr(entry.obj, "Options", None)
    if model is None:
        raise PluginOutputError(f"{describe(entry)} has no Options model")
    return entry.obj(model.model_validate(dict(options)), cache_dir=cache_dir)
