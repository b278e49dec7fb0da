"""The one module a plugin imports: cbis-bench's public API for plugin authors.

Everything a plugin of any kind needs is here, and nothing else of the core is public:
the core may move behind it (the import contract in ``tests/test_api_contract.py``
holds the built-in plugins to it). Names that pull in heavy libraries (torch, timm,
OpenCV) load on first use, so importing this module stays cheap.

* Hooks: :data:`hookimpl` marks ``register_<kind>(register)`` functions
  (``benchmark/registry/hookspecs.py`` documents each kind).
* Plugin types: :class:`Backbone`, :class:`LayerGroup`, :class:`Phase` (with its
  ``loss`` and ``action`` hooks and :class:`PhaseContext`),
  :class:`Normaliser`, :class:`Explainer` (with the :class:`PanelContext` of its panels),
  :class:`Dataset`, :class:`LocalisationMetric`,
  :class:`FaithfulnessMetric` (and the :class:`FaithfulnessScores` it may return),
  :class:`Logger` (made by a :class:`LoggerFactory`, with the :class:`LoggedRun` it
  receives), :class:`WholeImageContext` and :class:`WholeImageOutput` (a whole-image
  model's input and answer). Each kind's contract is one of these Protocols
  (``benchmark.plugin_types.CONTRACTS``).
* Spec value types a plugin receives: :class:`HParams`, :class:`Threshold`.
* Errors: :class:`UserError` (a message for the user, exit code 2) and
  :func:`did_you_mean` (the one "unknown name" suggestion).
* Helpers: layer grouping (``groups_from_ids``, ``leaf_modules_with_params``,
  ``timm_groups``, ``check_partition``, ``weight_layers``), layers (``GlobalMeanPool``,
  ``PatchClassifier``, ``ForwardFeatures``), learning rates per depth (``per_depth``),
  threshold rules (``binarise``, ``top_k_regions``, ``SWEEP``), removing pixels for
  faithfulness (``removal_masks``, ``removal_curve_masks``, ``linear_imputation``,
  ``noisy_linear_imputation``, ``target_probability``, ``smooth_random_maps``), pretrained-weight lookup
  (``find_local_weights``, ``missing_weights_message``, ``offline``), dataset records
  (``Audit``, ``Catalogue``, ``ImageRecord``, ``Lesion``, ``CLASSES``, ``lesion_class``,
  ``cached_catalogue``, ``digest_paths``), generated trees (``FixtureConfig``,
  ``generate_tree``), ``stable_hash``, ``lock`` and ``touch`` (mark a cache entry used),
  ``build_backbone`` (another registered backbone, for a backbone that wraps one) and
  ``frozen_groups`` (how many leading groups of a backbone the core freezes).
* Contract checkers for a plugin's own tests: ``benchmark.api.testing`` (imported on its
  own: ``from benchmark.api.testing import check_backbone``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from benchmark.data.audit import Audit
from benchmark.data.catalogue import Catalogue, ImageRecord, Lesion
from benchmark.data.classes import CLASSES, lesion_class
from benchmark.errors import UserError, did_you_mean
from benchmark.plugin_types import (
    Backbone,
    BackboneFactory,
    Dataset,
    Explainer,
    ExplainerFactory,
    FaithfulnessMetric,
    FaithfulnessScores,
    LayerGroup,
    LocalisationMetric,
    LoggedRun,
    Logger,
    LoggerFactory,
    Normaliser,
    PanelContext,
    Phase,
    PhaseContext,
    StrategyFn,
    WholeImageContext,
    WholeImageOutput,
    WholeModelFn,
)
from benchmark.registry.hookspecs import Register, hookimpl
from benchmark.spec.schema import HParams, Threshold

#: public name -> "module:attribute", imported on first use (these pull in torch or OpenCV)
_LAZY = {
    "groups_from_ids": "benchmark.models.grouping:groups_from_ids",
    "leaf_modules_with_params": "benchmark.models.grouping:leaf_modules_with_params",
    "timm_groups": "benchmark.models.grouping:timm_groups",
    "check_partition": "benchmark.models.grouping:check_partition",
    "weight_layers": "benchmark.models.grouping:weight_layers",
    "GlobalMeanPool": "benchmark.models.layers:GlobalMeanPool",
    "PatchClassifier": "benchmark.models.layers:PatchClassifier",
    "ForwardFeatures": "benchmark.models.layers:ForwardFeatures",
    "per_depth": "benchmark.training.learning_rates:per_depth",
    "binarise": "benchmark.evaluation.thresholds:binarise",
    "noisy_linear_imputation": "benchmark.evaluation.imputation:noisy_linear_imputation",
    "linear_imputation": "benchmark.evaluation.imputation:linear_imputation",
    "removal_masks": "benchmark.evaluation.imputation:removal_masks",
    "removal_curve_masks": "benchmark.evaluation.imputation:removal_curve_masks",
    "smooth_random_maps": "benchmark.evaluation.imputation:smooth_random_maps",
    "target_probability": "benchmark.evaluation.predict:target_probability",
    "top_k_regions": "benchmark.evaluation.thresholds:top_k_regions",
    "SWEEP": "benchmark.evaluation.thresholds:SWEEP",
    "find_local_weights": "benchmark.models.weights:find_local",
    "missing_weights_message": "benchmark.models.weights:missing_message",
    "offline": "benchmark.models.weights:offline",
    "cached_catalogue": "benchmark.data.catalogue_cache:cached_catalogue",
    "digest_paths": "benchmark.data.source_digest:digest_paths",
    "FixtureConfig": "benchmark.fixture:FixtureConfig",
    "generate_tree": "benchmark.fixture:generate_tree",
    "stable_hash": "benchmark.hashing:stable_hash",
    "lock": "benchmark.files:lock",
    "touch": "benchmark.files:touch",
    "build_backbone": "benchmark.registry.calls:build_inner_backbone",
    "frozen_groups": "benchmark.training.freezing:frozen_groups",
}

__all__ = [
    "hookimpl",
    "Register",
    "UserError",
    "did_you_mean",
    "Backbone",
    "BackboneFactory",
    "LayerGroup",
    "Phase",
    "PhaseContext",
    "PanelContext",
    "StrategyFn",
    "Normaliser",
    "Explainer",
    "ExplainerFactory",
    "LocalisationMetric",
    "FaithfulnessMetric",
    "FaithfulnessScores",
    "Dataset",
    "Logger",
    "LoggerFactory",
    "LoggedRun",
    "HParams",
    "Threshold",
    "WholeImageContext",
    "WholeImageOutput",
    "WholeModelFn",
    "Audit",
    "Catalogue",
    "ImageRecord",
    "Lesion",
    "CLASSES",
    "lesion_class",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'benchmark.api' has no attribute '{name}'")
    module, _, attribute = _LAZY[name].partition(":")
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # for type checkers and editors: the lazy names, eagerly ("x as x": re-exported)
    from benchmark.data.catalogue_cache import cached_catalogue as cached_catalogue
    from benchmark.data.source_digest import digest_paths as digest_paths
    from benchmark.evaluation.imputation import linear_imputation as linear_imputation
    from benchmark.evaluation.imputation import noisy_linear_imputation as noisy_linear_imputation
    from benchmark.evaluation.imputation import removal_curve_masks as removal_curve_masks
    from benchmark.evaluation.imputation import removal_masks as removal_masks
    from benchmark.evaluation.imputation import smooth_random_maps as smooth_random_maps
    from benchmark.evaluation.predict import target_probability as target_probability
    from benchmark.evaluation.thresholds import SWEEP as SWEEP
    from benchmark.evaluation.thresholds import binarise as binarise
    from benchmark.evaluation.thresholds import top_k_regions as top_k_regions
    from benchmark.files import lock as lock
    from benchmark.files import touch as touch
    from benchmark.fixture import FixtureConfig as FixtureConfig
    from benchmark.fixture import generate_tree as generate_tree
    from benchmark.hashing import stable_hash as stable_hash
    from benchmark.models.grouping import check_partition as check_partition
    from benchmark.models.grouping import groups_from_ids as groups_from_ids
    from benchmark.models.grouping import leaf_modules_with_params as leaf_modules_with_params
    from benchmark.models.grouping import timm_groups as timm_groups
    from benchmark.models.grouping import weight_layers as weight_layers
    from benchmark.models.layers import ForwardFeatures as ForwardFeatures
    from benchmark.models.layers import GlobalMeanPool as GlobalMeanPool
    from benchmark.models.layers import PatchClassifier as PatchClassifier
    from benchmark.models.weights import find_local as _find_local
    from benchmark.models.weights import missing_message as _missing_message
    from benchmark.models.weights import offline as offline
    from benchmark.registry.calls import build_inner_backbone as _build_inner_backbone
    from benchmark.training.freezing import frozen_groups as frozen_groups
    from benchmark.training.learning_rates import per_depth as per_depth

    # published under other names than the core's: assigned, which a type checker exports
    find_local_weights = _find_local
    missing_weights_message = _missing_message
    build_backbone = _build_inner_backbone
