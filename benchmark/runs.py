"""A spec expands into runs: backbones x strategies x hyperparameter sets x seeds (and,
for ablations, x normalisers x patch-cutting variants).

A run's id is a hash of everything that determines its result apart from the data
(the data's own fingerprint is checked against the stored result before a run is
skipped): the resolved choices, the shared training/evaluation settings and the
harness version. The same spec always expands to the same ids.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from benchmark import __version__
from benchmark.spec.schema import HParams, PatchParams, Spec


def stable_hash(payload: Any, length: int = 12) -> str:
    """Hash of a JSON-able payload, independent of key order and of the Python process."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def describe_variant(changes: dict[str, Any]) -> str:
    """``lesion_margin=0.5`` for a patch variant's changes (``default`` for none)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(changes.items())) or "default"


@dataclass(frozen=True)
class RunConfig:
    """One cell of the matrix, with the spec-wide settings it shares."""

    spec: Spec
    backbone: str
    strategy: str
    hparams: HParams
    seed: int
    normaliser: str
    patches: PatchParams
    patch_changes: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def resolved(self) -> dict[str, Any]:
        """Everything that determines the result (and so the id), as plain data."""
        s = self.spec
        return {
            "backbone": self.backbone,
            "strategy": self.strategy,
            "hparams": self.hparams.model_dump(),
            "seed": self.seed,
            "dataset": s.dataset.model_dump() | {"patches": self.patches.model_dump()},
            "normaliser": self.normaliser,
            "training": s.training.model_dump(),
            "explain": s.explain.model_dump(),
            "plugins": sorted(s.plugins),
            "harness": __version__,
        }

    @property
    def run_id(self) -> str:
        return stable_hash(self.resolved())

    @property
    def variant(self) -> str:
        return describe_variant(self.patch_changes)

    def axes(self) -> dict[str, str]:
        """This run's value on each axis a selection can group by."""
        return {"backbone": self.backbone, "strategy": self.strategy, "normaliser": self.normaliser,
                "patches": self.variant}

    @property
    def label(self) -> str:
        parts = [self.backbone, self.strategy, self.hparams.label(), f"seed {self.seed}"]
        if self.spec.matrix.normaliser is not None:
            parts.append(self.normaliser)
        if self.spec.matrix.patches is not None:
            parts.append(self.variant)
        return " / ".join(parts)


def expand(spec: Spec) -> list[RunConfig]:
    """All runs of a spec, in matrix order, duplicates removed."""
    m = spec.matrix
    runs: dict[str, RunConfig] = {}
    for (changes, patches), normaliser, backbone, strategy, hparams, seed in itertools.product(
            spec.patch_variants(), spec.normalisers(), m.backbone, m.strategy, m.hparams, m.seed):
        cell = {"backbone": backbone, "strategy": strategy, "seed": seed}
        for override in m.overrides:
            if all(cell[k] == v for k, v in override.match.items()):
                hparams = HParams.model_validate(hparams.model_dump() | override.set)
        run = RunConfig(spec, backbone, strategy, hparams, seed, normaliser, patches, changes)
        runs.setdefault(run.run_id, run)
    return list(runs.values())


def spec_hash(spec: Spec) -> str:
    return stable_hash(spec.model_dump())
