"""A spec expands into runs: backbones x strategies x hyperparameter sets x seeds (and,
for ablations, x normalisers x patch-cutting variants).

Two identities per run, both stable across processes and machines:

* the **training key**: everything that determines the trained weights (backbone and
  its options, strategy, hyperparameters, seed, data settings, normaliser, training
  settings, the harness version) and the code of the plugins that train (dataset,
  backbone, strategy, normaliser: their provenance). The trained weights are kept under
  it, so runs that train the same share them.
* the **run id**: the training key plus everything that determines the evaluation (the
  explanation settings and the code of the explainers and metrics).

Changing an explainer's options, or upgrading its plugin, gives a new run id and an
evaluation of the kept weights; changing the backbone's plugin retrains. The data's own
fingerprint is checked against the stored result before a run is skipped.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchmark import __version__
from benchmark.hashing import stable_hash
from benchmark.spec.schema import HParams, PatchParams, PluginRef, Spec

if TYPE_CHECKING:
    from benchmark.registry.loading import Registries


def describe_variant(changes: dict[str, Any]) -> str:
    """``lesion_margin=0.5`` for a patch variant's changes (``default`` for none)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(changes.items())) or "default"


@dataclass(frozen=True)
class RunConfig:
    """One cell of the matrix, with the spec-wide settings it shares and the provenance
    of the plugins it uses (``"kind name" -> plugin code``)."""

    spec: Spec
    backbone_ref: PluginRef
    strategy_ref: PluginRef
    hparams: HParams
    seed: int
    normaliser_ref: PluginRef
    patches: PatchParams
    patch_changes: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    plugins: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def backbone(self) -> str:
        """The backbone as results and tables name it (its name, with its options if any)."""
        return self.backbone_ref.label()

    @property
    def normaliser(self) -> str:
        return self.normaliser_ref.label()

    @property
    def strategy(self) -> str:
        return self.strategy_ref.label()

    def _training_plugins(self) -> dict[str, str]:
        keep = (
            f"dataset {self.spec.dataset.plugin}",
            f"backbone {self.backbone_ref.name}",
            f"strategy {self.strategy_ref.name}",
            f"normaliser {self.normaliser_ref.name}",
        )
        return {k: v for k, v in self.plugins.items() if k in keep}

    def training(self) -> dict[str, Any]:
        """Everything that determines the trained weights, as plain data."""
        s = self.spec
        return {
            "backbone": self.backbone,
            "backbone_options": self.backbone_ref.options,
            "strategy": self.strategy,
            **({"strategy_options": self.strategy_ref.options} if self.strategy_ref.options else {}),
            "hparams": self.hparams.model_dump(),
            "seed": self.seed,
            "dataset": s.dataset.model_dump() | {"patches": self.patches.model_dump()},
            "normaliser": self.normaliser,
            "normaliser_options": self.normaliser_ref.options,
            "training": s.training.model_dump(),
            "plugins": sorted(s.plugins),
            "harness": __version__,
            "plugin_code": self._training_plugins(),
        }

    def resolved(self) -> dict[str, Any]:
        """Everything that determines the result (and so the id), as plain data."""
        return self.training() | {
            "explain": self.spec.explain.model_dump(),
            "plugin_code": dict(sorted(self.plugins.items())),
        }

    @property
    def training_key(self) -> str:
        return stable_hash(self.training(), 16)

    @property
    def run_id(self) -> str:
        return stable_hash(self.resolved())

    @property
    def variant(self) -> str:
        return describe_variant(self.patch_changes)

    def axes(self) -> dict[str, str]:
        """This run's value on each axis a selection can group by."""
        return {
            "backbone": self.backbone,
            "strategy": self.strategy,
            "normaliser": self.normaliser,
            "patches": self.variant,
        }

    @property
    def label(self) -> str:
        parts = [self.backbone, self.strategy, self.hparams.label(), f"seed {self.seed}"]
        if self.spec.matrix.normaliser is not None:
            parts.append(self.normaliser)
        if self.spec.matrix.patches is not None:
            parts.append(self.variant)
        return " / ".join(parts)


def plugin_code(spec: Spec, regs: Registries) -> dict[str, str]:
    """``"kind name" -> provenance`` of every plugin item the spec names (the code that
    serves it): what enters the run ids. Names the registry does not know are left out
    (validation reports them)."""
    from benchmark.errors import UserError
    from benchmark.spec.plugin_fields import named_plugins

    named = [(p.kind, p.name) for p in named_plugins(spec.model_copy(update={"loggers": [], "whole_image": None}))]
    out = {}
    for kind, name in named:
        try:
            entry = regs.get(kind, name)
        except UserError:
            continue
        out[f"{kind} {name}"] = entry.provenance or entry.plugin
    return out


def expand(spec: Spec, regs: Registries | None = None) -> list[RunConfig]:
    """All runs of a spec, in matrix order, duplicates removed. ``regs`` (default: the
    registries of the spec's plugins) gives the plugins' provenance for the run ids."""
    if regs is None:
        from benchmark.registry.loading import registries

        regs = registries(spec.plugins)
    code = plugin_code(spec, regs)
    m = spec.matrix
    runs: dict[str, RunConfig] = {}
    for (changes, patches), normaliser, backbone, strategy, hparams, seed in itertools.product(
        spec.patch_variants(), spec.normalisers(), m.backbone, m.strategy, m.hparams, m.seed
    ):
        cell = {
            "backbone": {backbone.name, backbone.label()},
            "strategy": {strategy.name, strategy.label()},
            "normaliser": {normaliser.name, normaliser.label()},
            "seed": {seed},
        }
        if any(all(v in cell[k] for k, v in rule.items()) for rule in m.exclude):
            continue
        for override in m.overrides:
            if all(v in cell[k] for k, v in override.match.items()):
                hparams = HParams.model_validate(hparams.model_dump() | override.set)
        mine = {
            k: v
            for k, v in code.items()
            if not k.startswith(("backbone ", "strategy ", "normaliser "))
            or k in (f"backbone {backbone.name}", f"strategy {strategy.name}", f"normaliser {normaliser.name}")
        }
        run = RunConfig(spec, backbone, strategy, hparams, seed, normaliser, patches, changes, mine)
        runs.setdefault(run.run_id, run)
    return list(runs.values())


def spec_hash(spec: Spec) -> str:
    """The spec's fingerprint: everything but its loggers (where runs are also recorded
    changes nothing they compute) and its whole-image stage (which comes after the patch
    runs and changes none of them)."""
    return stable_hash(spec.model_dump(exclude={"loggers", "whole_image"}))
