"""What each plugin kind provides: the small interfaces the core programs against.

Kept free of heavy imports (torch is only named for type checkers) so that
``cbis-bench --help``, ``validate`` and ``plugins`` stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Literal,
    Protocol,
    runtime_checkable,
)

if TYPE_CHECKING:
    import numpy as np
    import torch
    from pydantic import BaseModel

    from benchmark.data.catalogue import Catalogue
    from benchmark.spec.schema import HParams


# --------------------------------------------------------------------------- backbones
@dataclass
class LayerGroup:
    """A contiguous slice of the network that is frozen, unfrozen and given a learning
    rate as one unit (a VGG block, a ResNet stage, the classifier head)."""

    name: str
    modules: list[torch.nn.Module]

    def parameters(self) -> list[torch.nn.Parameter]:
        seen: dict[int, torch.nn.Parameter] = {}
        for m in self.modules:
            for p in m.parameters():
                seen.setdefault(id(p), p)
        return list(seen.values())


@dataclass
class Backbone:
    """A network with a fresh N-class head, described for transfer learning.

    ``groups`` run from input to output and the last one is the new head. ``frozen``
    overrides the core's definition of "the first half of the network"
    (``benchmark.training.freezing``) for architectures where group counts mislead.
    ``target_layer`` is the layer Grad-CAM explains (the final convolution layer's
    output); results record its name in ``model`` (:attr:`target_layer_name`).
    ``features``, when given, is the convolutional part alone (image -> final feature
    map, sharing the model's parameters): later stages build on it (a whole-image
    model, a prototype layer). ``builds_on`` names the registered backbone a model
    wraps and ``kind`` what sort of network it is (the report sets such a model beside
    the one it builds on, headed by its kind); ``info`` is free-form description.
    """

    model: torch.nn.Module
    groups: list[LayerGroup]
    target_layer: torch.nn.Module
    pretrained: str = "none"
    frozen: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
    features: torch.nn.Module | None = None
    builds_on: str | None = None
    kind: str | None = None

    @property
    def target_layer_name(self) -> str:
        """The target layer's path in ``model`` (as ``named_modules()`` names it)."""
        for name, module in self.model.named_modules():
            if module is self.target_layer:
                return str(name)
        raise ValueError("the target layer is not a module of the model")


class BackboneFactory(Protocol):
    """Builds the network with a fresh ``num_classes`` head, with ImageNet weights when
    ``pretrained`` (a local file when the spec gives one: a ``weights`` keyword, or
    ``**options``, takes it); the spec's options come as further keywords. A family entry
    (``timm/*``) takes the variant's name first."""

    def __call__(self, *, num_classes: int, pretrained: bool, **options: Any) -> Backbone: ...


# -------------------------------------------------------------------------- strategies
@dataclass(frozen=True)
class Phase:
    """One stage of fine-tuning: the groups that train (by index) and their learning rates.
    Groups absent from ``learning_rates`` stay frozen.

    Two optional hooks let a strategy train models the core knows nothing about:
    ``loss(model, logits, labels) -> tensor`` is added to the cross-entropy of every
    training batch of the phase (a prototype network's cluster and separation terms, an
    L1 penalty); ``action(context)`` replaces the phase's epochs by one step that is not
    gradient descent (a prototype network's projection onto training patches), given a
    :class:`PhaseContext`. The validation loss after an action is recorded as an epoch of
    the phase, and the weights it leaves are the ones carried on: the phases after it
    compete only with those weights, never with what came before the action.
    ``epochs`` caps the phase's epochs below the spec's ``training.max_epochs`` (a short
    warm-up); None means the spec's cap. ``carry`` says which weights the phase hands
    on: ``"best"`` (early-stopped, the lowest validation loss so far, the study's rule)
    or ``"last"`` (a fixed schedule: every epoch runs and the final weights are carried,
    as an action's are, whatever the validation loss).
    """

    name: str
    learning_rates: dict[int, float]
    loss: Callable[..., Any] | None = None
    action: Callable[[PhaseContext], None] | None = None
    epochs: int | None = None
    carry: Literal["best", "last"] = "best"


@dataclass
class PhaseContext:
    """What a phase's ``action`` may use: the model, its groups, the training split as
    network input (``batches()`` yields normalised images on the device with their
    labels), and the device."""

    model: torch.nn.Module
    groups: list[LayerGroup]
    batches: Callable[[], Iterable[tuple[torch.Tensor, torch.Tensor]]]
    device: Any


class StrategyFn(Protocol):
    """A transfer strategy: the phases of fine-tuning for the backbone's ``groups``, of
    which the first ``frozen`` stay frozen at the start, at the run's ``hparams``
    (``backbone=`` and the spec's options come as keywords to a strategy that takes them)."""

    def __call__(self, groups: Sequence[LayerGroup], frozen: int, hparams: HParams, /) -> list[Phase]: ...


# ------------------------------------------------------------------------- normalisers
@runtime_checkable
class Normaliser(Protocol):
    """Fitted on the training split, applied on the training device to float images in
    [0, 1] of shape (B, 3, H, W). ``fit`` receives the split chunk by chunk as
    ``(images, labels)`` pairs, so statistics are accumulated, never the split copied."""

    uses_labels: ClassVar[bool]

    def fit(self, chunks: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> None: ...

    def __call__(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor: ...

    def state_dict(self) -> dict[str, Any]: ...


# ------------------------------------------------------------------------- explainers
class Explainer(Protocol):
    """Maps normalised images and one target class per image to saliency maps in [0, 1]
    at input resolution, shape (N, H, W): float32 numpy, or a tensor the core copies.

    An explainer whose class sets ``input = "raw"`` receives the patches before
    normalisation instead (float RGB in [0, 1]): a model-free map of the image itself.

    An explainer may also have ``panels(context: PanelContext) -> list[dict[str, ndarray]]``:
    figures of its own model for the report (a prototype network's gallery), each a grid
    of image tiles (see :class:`PanelContext`); the core stores and draws them.
    """

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray | torch.Tensor: ...


@dataclass
class PanelContext:
    """What an explainer's ``panels`` draws from: the training and test patches as stored
    (uint8, (N, H, W)), ``test_input(positions)`` (those test patches as network input on the
    device), the test labels and the model's test predictions.

    Each panel it returns is ``{"title": str, "columns": int, "images": uint8 (N, H, W),
    "boxes": int (N, 4) as y0, x0, y1, x1 (-1 for none), "captions": str (N,)}``: tiles
    in reading order, ``columns`` per row."""

    train: np.ndarray
    test: np.ndarray
    test_input: Callable[[np.ndarray], torch.Tensor]
    labels: np.ndarray
    predictions: np.ndarray


class ExplainerFactory(Protocol):
    """Builds an :class:`Explainer` of the trained ``backbone`` (the spec's options as
    keywords); a class is one."""

    def __call__(self, backbone: Backbone, /, **options: Any) -> Explainer: ...


class LocalisationMetric(Protocol):
    """Scores maps (N, H, W) in [0, 1] against boolean lesion masks (N, H, W): one finite
    score per map, higher is better, under the spec's ``threshold`` rule (None for a
    score that needs none)."""

    def __call__(self, maps: np.ndarray, masks: np.ndarray, /, *, threshold: Any = None) -> np.ndarray: ...


# ------------------------------------------------------------------ faithfulness metrics
@dataclass
class FaithfulnessScores:
    """A faithfulness metric's answer with its curve: ``scores`` one per map; ``curve``
    (N, len(steps)) the per-map value at each step (the drop in the target probability
    after removing ``steps[k]`` % of the pixels, say), which the report draws averaged."""

    scores: np.ndarray
    steps: Sequence[float] = ()
    curve: np.ndarray | None = None


class FaithfulnessMetric(Protocol):
    """Scores maps by what the model does when the input is changed where they point:
    ``(model, inputs (N, 3, H, W) normalised, maps (N, H, W) in [0, 1], targets (N,))``,
    tensors on the model's device, to one score per map (numpy or tensor) or a
    :class:`FaithfulnessScores`. ``higher_is_better`` (default True) orients the score."""

    def __call__(
        self, model: torch.nn.Module, inputs: torch.Tensor, maps: torch.Tensor, targets: torch.Tensor, /, **options: Any
    ) -> np.ndarray | FaithfulnessScores: ...


# ----------------------------------------------------------------- whole-image models
@dataclass
class WholeImageContext:
    """What a whole-image model receives (the core's whole-image stage builds one per
    finished patch run): that run's trained network and fitted normaliser, the spec's
    whole mammograms and its ``whole_image`` settings, and the core's services.

    ``images`` are uint8 (N, H, W) at the spec's size, ``labels`` 0 benign / 1 malignant,
    ``split(name)`` the indices of "train", "val" or "test". ``to_input`` turns a uint8
    tensor (N, 1, H, W) on the device into normalised network input; ``train(model)``
    trains a 2-class :class:`Backbone` on the whole images (train split, validated on
    val) as the patch stage trains, with the patch run's strategy, early stopping,
    checkpoint carry-over, determinism, gradient accumulation and resume, and returns
    the training record; ``autocast()`` is bf16 on CUDA; ``say`` prints progress.
    """

    backbone: Backbone
    normaliser: Normaliser
    images: np.ndarray
    labels: np.ndarray
    split: Callable[[str], np.ndarray]
    patch_size: int
    settings: Any
    device: Any
    to_input: Callable[[torch.Tensor], torch.Tensor]
    train: Callable[[Backbone], dict[str, Any]]
    autocast: Callable[[], Any]
    say: Callable[[str], None] = print


@dataclass
class WholeImageOutput:
    """A whole-image model's answer on the test images, in ``split("test")`` order: one
    malignancy score per image (higher: more likely malignant), one map per image in
    [0, 1] at image size (what the localisation metrics score), and details the result
    records (window, pooling, training record...)."""

    scores: np.ndarray
    maps: np.ndarray
    details: dict[str, Any] = field(default_factory=dict)


class WholeModelFn(Protocol):
    """A whole-image model: its answer on the test mammograms of one finished patch run,
    given that run's :class:`WholeImageContext` (the spec's options as keywords)."""

    def __call__(self, context: WholeImageContext, /, **options: Any) -> WholeImageOutput: ...


# ----------------------------------------------------------------------------- loggers
@dataclass(frozen=True)
class LoggedRun:
    """A finished run as a logger receives it: flat parameters (its resolved config),
    each epoch's metrics (``epoch`` is the step), the final metrics and the report's
    figures of the run (PNG files). ``folder`` is the run's folder in the store, where a
    logger may keep files "next to the run"."""

    spec: str
    run_id: str
    label: str
    folder: Path
    params: dict[str, str | int | float | bool]
    epochs: list[dict[str, float]]
    metrics: dict[str, float]
    figures: list[Path] = field(default_factory=list)


class LoggerFactory(Protocol):
    """Opens a logger for a spec's runs: the home (where a logger may keep its store), the
    spec, and the spec's options as keywords; a class is one."""

    def __call__(self, home: Path, spec: Any, /, **options: Any) -> Logger: ...


class Logger(Protocol):
    """Where a spec's runs are also recorded (TensorBoard, MLflow, ...). ``log`` is
    called once per run and logger (the core remembers what was logged); ``close`` ends
    the session. A logger only reads: it never changes a result or a run id."""

    def log(self, run: LoggedRun) -> None: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------------- datasets
class Dataset(Protocol):
    """Finds the abnormalities of a data tree; the core decodes, crops and caches.

    ``Options`` is a pydantic model validated from the spec's ``dataset.options``.
    """

    Options: ClassVar[type[BaseModel]]

    def __init__(self, options: Any, *, cache_dir: Path) -> None: ...

    def catalogue(self) -> Catalogue: ...

    def read_image(self, path: Path) -> np.ndarray: ...

    def read_mask(self, path: Path) -> np.ndarray: ...


#: each plugin kind's contract, stated once: the registry's gate checks what a plugin
#: registers against it (a callable's signature, a class's members), its messages quote
#: it, and ``benchmark.api.testing`` and the README are written from it
CONTRACTS: dict[str, type] = {
    "backbone": BackboneFactory,
    "strategy": StrategyFn,
    "normaliser": Normaliser,
    "explainer": ExplainerFactory,
    "localisation": LocalisationMetric,
    "faithfulness": FaithfulnessMetric,
    "dataset": Dataset,
    "logger": LoggerFactory,
    "whole_model": WholeModelFn,
}
