"""Contract checkers for a plugin author's own tests (as timm ships model tests and
pytest ships pytester): build the plugin on tiny inputs and put it through the checks
the harness applies when it registers and calls a plugin, so a broken contract shows in
the author's test suite rather than halfway through someone's run.

Each checker takes the plugin object itself (a factory, function or class) or a
registered name, and the plugin's options as keywords (validated by its options model:
the registered one for a name, ``Options`` on the object or ``options_model=`` for an
object). The checker's own settings are keyword-only (``num_classes``, ``image_size``,
``images``, ``batch_size``, ``backbone``...); every other keyword is the plugin's.

On success a checker returns a :class:`Report`; a broken contract raises
:class:`ContractError` (an ``AssertionError``, so pytest shows it as a failed assertion)
whose message names the plugin, says what is wrong and what the contract expects. The
contracts are the harness's own (``benchmark/registry/gate.py`` at registration,
``benchmark/registry/calls.py`` and the evaluation's checks when called): nothing here
restates them. An exception the plugin raises itself propagates unchanged.

    from benchmark.api.testing import check_backbone, check_explainer

    def test_tiny_net_keeps_the_backbone_contract():
        check_backbone(tiny_net, options_model=TinyNetOptions, width=8)

    def test_input_gradient_on_tiny_net():
        check_explainer(InputGradient, backbone=tiny_net)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from benchmark.data.classes import CLASSES
from benchmark.errors import PluginOutputError, UserError
from benchmark.plugin_types import Backbone
from benchmark.registry import Entry, calls
from benchmark.spec.schema import HParams, PluginRef, Threshold

if TYPE_CHECKING:
    import torch

    from benchmark.registry.loading import Registries

__all__ = [
    "ContractError",
    "Report",
    "DEFAULT_BACKBONE",
    "check_backbone",
    "check_explainer",
    "check_metric",
    "check_faithfulness",
    "check_normaliser",
    "check_strategy",
]

#: the backbone explainers, faithfulness metrics and strategies are checked on by default:
#: timm's smallest ResNet, random weights (a few MB, built in about a second)
DEFAULT_BACKBONE = "timm/test_resnet"


class ContractError(AssertionError):
    """A plugin breaks its kind's contract: the message says what and what is expected."""


@dataclass(frozen=True)
class Report:
    """What a checker verified: the plugin as messages name it, and each check passed."""

    kind: str
    plugin: str
    checked: tuple[str, ...]


# --------------------------------------------------------------------------- plumbing
@contextlib.contextmanager
def _contract() -> Iterator[None]:
    """The harness's refusals (a plugin's output, a gate, an option) as a ContractError."""
    try:
        yield
    except (PluginOutputError, UserError) as exc:
        raise ContractError(str(exc)) from None


@dataclass(frozen=True)
class _WithEntry:
    """The installed registries with one more entry, the object under test: what the
    harness's calls look names up in (so a backbone under test may wrap an installed one)."""

    entry: Entry
    installed: Registries

    def get(self, kind: str, name: str) -> Entry:
        if (kind, name) == (self.entry.kind, self.entry.name):
            return self.entry
        return self.installed.get(kind, name)


def _resolve(kind: str, target: Any, options: Mapping[str, Any], options_model: Any) -> tuple[Any, PluginRef, str]:
    """(registries, ref, how messages name the plugin) for a registered name or an object,
    the object registered as ``register`` would (the gate's check included)."""
    from benchmark.registry.loading import checked_entry, registries

    installed = registries()
    with _contract():
        if isinstance(target, str):
            if options_model is not None:
                raise TypeError("options_model is for an object under test; a registered name has its own")
            regs: Any = installed
            name = target
        else:
            name = getattr(target, "__name__", type(target).__name__)
            plugin = getattr(target, "__module__", None) or "under test"
            entry = checked_entry(
                kind, name, target, (), "", options_model, plugin, "checked by benchmark.api.testing", ""
            )
            regs = _WithEntry(entry, installed)
        ref = PluginRef(name=name, options=dict(options))
        where = calls.describe(regs.get(kind, name))
    return regs, ref, where


def _report(kind: str, where: str, *checked: str) -> Report:
    return Report(kind, where, tuple(checked))


def _patches(n: int, size: int, num_classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` grey uint8 patches (noise and one bright disc each) and one label each,
    every class in turn: the shape in which the harness keeps a split."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images = rng.normal(90, 20, (n, size, size))
    for image in images:
        cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= (size // 6) ** 2] += 100
    return images.clip(0, 255).astype(np.uint8), np.arange(n) % num_classes


def _maps(n: int, size: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` saliency maps in [0, 1] (Gaussian blobs, one all zero, one all one, as the
    controls make them) and ``n`` lesion masks (discs)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    maps, masks = np.zeros((n, size, size), np.float32), np.zeros((n, size, size), bool)
    for i in range(n):
        cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
        maps[i] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 6) ** 2))
        my, mx = (np.array([cy, cx]) + rng.integers(-size // 8, size // 8 + 1, 2)).clip(0, size - 1)
        masks[i] = (yy - my) ** 2 + (xx - mx) ** 2 <= (size // 5) ** 2
    maps[0], maps[min(1, n - 1)] = 0.0, 1.0
    return maps, masks


class _FixedNormaliser:
    """Network input for checks that need one: a fixed standardisation, no labels."""

    uses_labels: ClassVar[bool] = False

    def fit(self, chunks: Any) -> None:
        return None

    def __call__(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return (images - 0.5) / 0.25

    def state_dict(self) -> dict[str, Any]:
        return {}


def _split(images: np.ndarray, labels: np.ndarray) -> Any:
    import torch

    from benchmark.training.device_data import DeviceSplit

    return DeviceSplit.from_arrays(images, labels, torch.device("cpu"))


def _backbone(backbone: Backbone | str | Callable[..., Backbone], num_classes: int) -> Backbone:
    """A built backbone to check another kind on (a name or factory is built and checked)."""
    if isinstance(backbone, Backbone):
        return backbone
    regs, ref, _ = _resolve("backbone", backbone, {}, None)
    with _contract():
        return calls.build_backbone(regs, ref, num_classes=num_classes, pretrained=False)


# --------------------------------------------------------------------------- checkers
def check_backbone(
    factory_or_name: Callable[..., Backbone] | str,
    *,
    num_classes: int = len(CLASSES),
    image_size: int = 64,
    batch_size: int = 2,
    options_model: Any = None,
    **options: Any,
) -> Report:
    """Build the backbone as a run does (random weights) and check what the harness
    checks: its signature, a ``Backbone`` whose layer groups partition the parameters
    (input to output, head last), a target layer inside the model, features sharing its
    weights, a valid ``frozen``; then that a batch of patches gives finite logits of
    shape (batch, num_classes)."""
    import torch

    from benchmark.training.device_data import to_input

    regs, ref, where = _resolve("backbone", factory_or_name, options, options_model)
    with _contract():
        backbone = calls.build_backbone(regs, ref, num_classes=num_classes, pretrained=False)
        split = _split(*_patches(batch_size, image_size, num_classes))
        backbone.model.eval()
        with torch.no_grad():
            logits = backbone.model(to_input(split.images, split.labels, _FixedNormaliser()))
        calls.check_logits(where, logits, batch_size, num_classes)
    return _report(
        "backbone",
        where,
        "signature",
        "a Backbone",
        "layer groups partition the parameters",
        "target layer in the model",
        "features (if any) share the model's weights",
        "frozen (if set) leaves groups to train",
        f"logits of shape ({batch_size}, {num_classes})",
    )


def check_explainer(
    factory_or_name: Callable[..., Any] | str,
    *,
    backbone: Backbone | str | Callable[..., Backbone] = DEFAULT_BACKBONE,
    num_classes: int = len(CLASSES),
    image_size: int = 64,
    images: int = 4,
    batch_size: int = 2,
    options_model: Any = None,
    **options: Any,
) -> Report:
    """Build the explainer on ``backbone`` and explain ``images`` patches (one target
    class each, every class in turn) in batches, exactly as the LL evaluation does (eval
    mode, gradients on, fp32; raw patches when the explainer asks for them): each batch
    must give one finite map per image in [0, 1] at the input's height and width."""
    from benchmark.evaluation.localisation import explain

    built = _backbone(backbone, num_classes)
    regs, ref, where = _resolve("explainer", factory_or_name, options, options_model)
    with _contract():
        explainer, where = calls.make_explainer(regs, ref, built)
        if explainer is None:
            raise ContractError(
                f"{where} declined the backbone it was given (its factory returned None); pass one "
                "it explains: check_explainer(..., backbone=...)"
            )
        patches, labels = _patches(images, image_size, num_classes)
        explain(
            built.model, explainer, _split(patches, labels), np.arange(images), labels, _FixedNormaliser(), batch_size
        )
    return _report(
        "explainer",
        where,
        "signature",
        f"maps of shape (n, {image_size}, {image_size}) per batch",
        "finite maps in [0, 1]",
    )


def check_metric(
    fn_or_name: Callable[..., Any] | str,
    *,
    image_size: int = 32,
    maps: int = 6,
    options_model: Any = None,
    **options: Any,
) -> Report:
    """Score ``maps`` saliency maps (blobs, an all-zero and an all-one map) against lesion
    masks as the LL evaluation does: under the value, top-percent, mask-area and Otsu
    threshold rules and over the threshold sweep; each call must give one finite score
    per map."""
    from benchmark.evaluation.localisation import Scoring, score_localisation

    regs, ref, where = _resolve("localisation", fn_or_name, options, options_model)
    with _contract():
        metric = calls.metric(regs, ref)
        saliency, masks = _maps(maps, image_size)
        rules = [Threshold(rule="top-percent", value=20), Threshold(rule="mask-area"), Threshold(rule="otsu")]
        scoring = Scoring(metrics={ref.name: metric}, ll_metric=ref.name, threshold=Threshold(), rules=rules)
        try:
            score_localisation(saliency, np.arange(maps), masks, scoring)
        except PluginOutputError as exc:
            raise ContractError(
                f"{exc} (on {maps} maps of {image_size} x {image_size}: Gaussian blobs, one all zero "
                "and one all one, as the harness's controls make them)"
            ) from None
    return _report(
        "localisation",
        where,
        "signature",
        "one finite score per map under each threshold rule",
        "one finite score per map over the threshold sweep",
    )


def check_faithfulness(
    fn_or_name: Callable[..., Any] | str,
    *,
    backbone: Backbone | str | Callable[..., Backbone] = DEFAULT_BACKBONE,
    num_classes: int = len(CLASSES),
    image_size: int = 32,
    images: int = 4,
    batch_size: int = 2,
    options_model: Any = None,
    **options: Any,
) -> Report:
    """Score maps of ``images`` patches with the metric as the faithfulness evaluation
    does (network input on the model's device, eval mode, no gradients, fp32, in
    batches): a boolean ``higher_is_better``, one finite score per map and, when it gives
    a curve, one finite value per map and step."""
    from benchmark.evaluation.faithfulness import faithfulness_scores

    built = _backbone(backbone, num_classes)
    regs, ref, where = _resolve("faithfulness", fn_or_name, options, options_model)
    with _contract():
        metric = calls.faithfulness_metric(regs, ref)
        patches, labels = _patches(images, image_size, num_classes)
        saliency, _ = _maps(images, image_size)
        faithfulness_scores(
            {ref.name: metric},
            built.model,
            _split(patches, labels),
            np.arange(images),
            saliency,
            labels,
            _FixedNormaliser(),
            batch_size,
        )
    return _report(
        "faithfulness",
        where,
        "signature",
        "a boolean higher_is_better",
        "one finite score per map",
        "a finite curve (if any) of one value per map and step",
    )


def check_normaliser(
    cls_or_name: Callable[..., Any] | str,
    *,
    num_classes: int = len(CLASSES),
    image_size: int = 32,
    images: int = 10,
    batch_size: int = 4,
    options_model: Any = None,
    **options: Any,
) -> Report:
    """Build the normaliser, fit it on a split given chunk by chunk, and apply it as
    training does (labels only when it ``uses_labels``): an object with ``fit``,
    ``__call__``, ``state_dict`` and a boolean ``uses_labels``; finite images of the
    shape it was given; a ``state_dict()`` that results.json can hold."""
    from benchmark.training.device_data import as_rgb, fit_chunks, to_input

    regs, ref, where = _resolve("normaliser", cls_or_name, options, options_model)
    with _contract():
        normaliser = calls.make_normaliser(regs, ref)
        split = _split(*_patches(images, image_size, num_classes))
        normaliser.fit(fit_chunks(split, chunk=batch_size))
        for idx in split.batches(batch_size):
            before = as_rgb(split.images[idx])
            calls.check_normalised(where, before, to_input(split.images[idx], split.labels[idx], normaliser))
        calls.check_normaliser_state(where, normaliser.state_dict())
    return _report(
        "normaliser",
        where,
        "signature",
        "fit, __call__, state_dict and a boolean uses_labels",
        "finite images of the shape given",
        "a state_dict results.json can hold",
    )


def check_strategy(
    fn_or_name: Callable[..., Any] | str,
    *,
    backbone: Backbone | str | Callable[..., Backbone] = DEFAULT_BACKBONE,
    hparams: HParams | Mapping[str, Any] | None = None,
    num_classes: int = len(CLASSES),
    options_model: Any = None,
    **options: Any,
) -> Report:
    """Ask the strategy for its phases on ``backbone``'s groups, with the core's frozen
    prefix and ``hparams`` (the spec's defaults when None), as a run does: a non-empty
    list of ``Phase``, each training existing groups at finite positive rates (or being
    an action), with valid ``epochs`` and ``carry``."""
    from benchmark.training.freezing import frozen_groups

    built = _backbone(backbone, num_classes)
    hp = hparams if isinstance(hparams, HParams) else HParams.model_validate(dict(hparams or {}))
    regs, ref, where = _resolve("strategy", fn_or_name, options, options_model)
    with _contract():
        phases = calls.make_phases(regs, ref, built, frozen_groups(built), hp)
    return _report(
        "strategy",
        where,
        "signature",
        "a non-empty list of Phase",
        f"phases {', '.join(p.name for p in phases)} name existing groups at positive rates",
    )
