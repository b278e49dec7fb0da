"""The hook specifications: one ``register_<kind>(register)`` hook per plugin kind.

A plugin is any module (or object) with functions marked ``@hookimpl`` whose names
match these specifications. The host owns ``register``: it records which plugin
supplied each name, checks the object against its kind's contract (one Protocol per
kind, ``benchmark.plugin_types.CONTRACTS``, which ``benchmark/registry/gate.py`` reads)
and refuses a name another plugin has, so a plugin
only ever says *what* it provides::

    from benchmark.api import hookimpl

    @hookimpl
    def register_backbones(register):
        register("my-net", build_my_net, options=MyNetOptions)

``register(name, obj, *, aliases=(), description="", options=None, wraps=False)``: ``obj`` is the
object or a lazy ``"package.module:attribute"`` reference; ``options`` a pydantic model
validating the options a spec may give (``{name: my-net, options: {...}}``), passed to
``obj`` as keyword arguments (an ``Options`` attribute on ``obj`` serves the same).
A family ``name/*`` serves every ``name/<variant>``; with ``wraps=True`` each variant
must itself be a registered name of the kind (a model built over another backbone), so
a misspelt one is refused when the spec is validated.
Every hook is called once per plugin when the registry is built; return values are
ignored. All hooks are optional for a plugin to implement.
"""

from __future__ import annotations

from typing import Any, Protocol

import pluggy

PROJECT = "cbis_bench"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Register(Protocol):
    """The callable passed to every ``register_*`` hook."""

    def __call__(
        self,
        name: str,
        obj: Any,
        *,
        aliases: tuple[str, ...] = (),
        description: str = "",
        options: Any = None,
        wraps: bool = False,
    ) -> None: ...


@hookspec
def register_backbones(register: Register) -> None:
    """Register backbone factories.

    ``obj`` is a callable ``(num_classes: int, pretrained: bool | str | Path, **options)
    -> benchmark.api.Backbone`` that builds the network with a fresh
    ``num_classes``-way head and describes its layer groups (input to output) and its
    Grad-CAM target layer.
    """


@hookspec
def register_strategies(register: Register) -> None:
    """Register transfer-learning strategies.

    ``obj`` is a callable ``(groups: Sequence[LayerGroup], frozen: int, hparams: HParams)
    -> list[Phase]``: which groups train in each phase and at which learning rate. The
    core training loop runs the phases in order, early-stops each and carries the best
    checkpoint of one phase into the next; a phase may instead cap its epochs, add a loss,
    be one non-gradient action, or run a fixed schedule whose final weights are carried
    (``Phase.epochs``, ``loss``, ``action``, ``carry``). The strategy is called with the
    built ``backbone`` and the spec's options for it when it accepts them.
    """


@hookspec
def register_normalisers(register: Register) -> None:
    """Register intensity normalisers.

    ``obj`` is a class implementing ``benchmark.api.Normaliser``: fitted on the
    training split, then applied to any split on the training device. A normaliser that
    needs the label at transform time sets ``uses_labels = True`` and every report built
    from it carries a label-leak warning.
    """


@hookspec
def register_explainers(register: Register) -> None:
    """Register saliency explainers.

    ``obj`` is a callable ``(backbone: Backbone, **options) -> Explainer``; the explainer
    maps a batch of normalised images and one explicit target class per image to one
    map per image in [0, 1] at input resolution (numpy, or a tensor on any device). The
    core calls it in eval mode, fp32, with gradients enabled on every parameter, and
    checks the maps' shape and range. A factory returns None to decline a model it cannot
    explain (a method for one kind of network); the result lists it under ``declined``.
    """


@hookspec
def register_localisation_metrics(register: Register) -> None:
    """Register localisation metrics (a saliency map against a lesion mask).

    ``obj`` is a callable ``(maps: ndarray[N,H,W], masks: ndarray[N,H,W] bool, *,
    threshold: Threshold) -> ndarray[N]`` giving one score per patch, higher meaning
    better localised. ``threshold`` is the spec's rule for turning a map into a region
    (``benchmark.evaluation.thresholds.binarise`` applies it); metrics that weigh the
    map's values accept and ignore it. Every metric is computed for every explainer and
    for the baseline, on the same patches.
    """


@hookspec
def register_faithfulness_metrics(register: Register) -> None:
    """Register faithfulness metrics (does the model use what a map highlights?).

    ``obj`` is a callable ``(model, inputs: Tensor[N,3,H,W], maps: Tensor[N,H,W], targets:
    Tensor[N], **options) -> ndarray[N] | benchmark.api.FaithfulnessScores``: one score per
    map, computed by perturbing the normalised ``inputs`` where the ``maps`` (in [0, 1])
    point and watching the model's output for the ``targets`` class. The core calls it
    with the model in eval mode, without gradients, in fp32, on the model's device, and
    checks one finite score per map. A ``higher_is_better`` attribute (default True)
    says which way the score points, so that it is compared with the model-free controls
    the right way round. Every metric scores every explainer and every control on the same
    patches (``explain.faithfulness``).
    """


@hookspec
def register_loggers(register: Register) -> None:
    """Register experiment loggers (where a spec's runs are also recorded: TensorBoard,
    MLflow, ...).

    ``obj`` is a callable ``(home: Path, spec: str, **options) -> Logger`` (see
    ``benchmark.api.Logger``); it should raise ``UserError`` naming the package to install
    when its library is missing (it is built before any training, so a missing extra
    stops the run at once). Each finished run reaches each logger once, after the report,
    as a ``benchmark.api.LoggedRun`` (parameters, every epoch's metrics, the final
    metrics, its report figures); loggers never change what is computed, nor any run id.
    """


@hookspec
def register_whole_models(register: Register) -> None:
    """Register whole-mammogram models (the stage after the patch runs, a spec's
    ``whole_image.models``).

    ``obj`` is a callable ``(context: benchmark.api.WholeImageContext, **options) ->
    benchmark.api.WholeImageOutput``: given one finished patch run's trained network and
    the whole images, it scores the test images (and maps them for the localisation
    metrics), training a model of its own through ``context.train`` if it needs one. It
    may also have ``network(backbone, settings=None) -> Backbone`` (the network it
    trains, for ``cbis-bench bench train --whole``). The description is the report's
    name for the model.
    """


@hookspec
def register_datasets(register: Register) -> None:
    """Register datasets.

    ``obj`` is a class implementing ``benchmark.api.Dataset``: given its options
    it locates the abnormalities of a tree (a catalogue of images, masks, labels and
    splits, with an audit of what it read and skipped); the core decodes, crops and
    caches the patches.
    """
