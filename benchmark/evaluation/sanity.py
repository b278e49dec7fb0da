"""Sanity tests for explainers: is a map a function of the model, or of the image alone?

Adebayo et al. 2018 ("Sanity checks for saliency maps") re-initialise the model's layers
and retrain it on permuted labels; maps that explain the *model* must change. Later work
found the usual top-down cascade the easiest ordering to pass (Binder et al. 2023, in
Quantus), and a class-blind map passes it while ignoring the class asked for (Sixt et
al. 2020). So each explainer's maps of a few correctly classified test patches are
compared with its maps of the trained model, by Spearman rank correlation and SSIM,
under each test of ``explain.sanity.tests``:

* ``top-down``: the layer groups re-initialised from the head down, one more per step;
  passes when the maps differ once every group is random;
* ``bottom-up``: from the input up; passes when the maps differ once the input-side
  group alone is random (everything above it then sees noise);
* ``independent``: one group at a time, the others trained; passes when the maps differ
  for most groups;
* ``random-logit``: the map of another class (drawn at random, seeded) for the same
  image; passes when it differs from the predicted class's map;
* ``label-permutation`` (``sanity.label_permutation``): the model trained the same way
  on permuted labels; passes when its maps differ.

Maps *differ* when both the mean Spearman correlation and the mean SSIM are below their
flags (a map that became flat differs from one that is not: Spearman and SSIM count 0). A
model-free control fails every test by construction (its maps never move), which
shows what failing looks like; it is reported, never warned about. The trained model is
untouched: a copy is randomised.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from benchmark.evaluation.localisation import explain
from benchmark.evaluation.records import Sanity, SanityCurve, SanityTest
from benchmark.evaluation.similarity import spearman_per_patch, ssim_per_patch
from benchmark.plugin_types import Backbone, LayerGroup, Normaliser
from benchmark.spec.schema import Sanity as SanitySpec
from benchmark.training.device_data import DeviceSplit

PASSES_WHEN = {
    "top-down": "its maps differ once every layer group is random",
    "bottom-up": "its maps differ once the input-side group alone is random",
    "independent": "its maps differ for most groups randomised one at a time",
    "random-logit": "its map of another class differs from the predicted class's",
    "label-permutation": "the maps of the model trained on permuted labels differ",
}


def randomise_group(group: LayerGroup, seed: int) -> None:
    """Re-initialise a group's parameters as its layers initialise themselves
    (``reset_parameters``); parameters no layer resets are redrawn from N(0, their std)."""
    device = next(iter(group.parameters()), torch.empty(0)).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
        torch.manual_seed(seed)
        reset: set[int] = set()
        for top in group.modules:
            for module in top.modules():
                reset_parameters = getattr(module, "reset_parameters", None)
                if callable(reset_parameters):
                    reset_parameters()
                    reset.update(id(p) for p in module.parameters(recurse=False))
        for p in group.parameters():
            if id(p) not in reset:
                p.normal_(0.0, float(p.std()) if p.numel() > 1 else 0.02)


def sanity_patches(candidates: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` of the candidate positions, evenly spread (deterministic)."""
    if len(candidates) <= count:
        return candidates
    return candidates[np.linspace(0, len(candidates) - 1, count).round().astype(int)]


def _group_state(group: LayerGroup) -> list[dict[str, torch.Tensor]]:
    return [{k: v.detach().clone() for k, v in m.state_dict().items()} for m in group.modules]


def _restore(group: LayerGroup, state: list[dict[str, torch.Tensor]]) -> None:
    for module, saved in zip(group.modules, state, strict=True):
        module.load_state_dict(saved)


def _flat(maps: np.ndarray) -> np.ndarray:
    flat = maps.reshape(len(maps), -1)
    return flat.max(axis=1) == flat.min(axis=1)


class _Similarity:
    """Each explainer's similarity to its reference maps, step by step."""

    def __init__(self, reference: Mapping[str, np.ndarray]) -> None:
        self.reference = reference
        self.spearman: dict[str, list[float]] = {name: [] for name in reference}
        self.ssim: dict[str, list[float]] = {name: [] for name in reference}

    def add(self, maps: Mapping[str, np.ndarray]) -> None:
        for name, ref in self.reference.items():
            self.spearman[name].append(round(float(np.mean(spearman_per_patch(ref, maps[name]))), 4))
            ssim = ssim_per_patch(ref, maps[name])
            # a map that became flat (or stopped being flat) shares no structure with the other, whatever
            # SSIM makes of the zeros they have in common (Grad-CAM's ReLU leaves many)
            ssim = np.where(_flat(ref) != _flat(maps[name]), 0.0, ssim)
            self.ssim[name].append(round(float(np.mean(ssim)), 4))


def _test(name: str, steps: Sequence[str], sim: _Similarity, config: SanitySpec) -> SanityTest:
    def differs(name_: str, k: int) -> bool:
        return sim.spearman[name_][k] < config.flag_above and sim.ssim[name_][k] < config.ssim_flag_above

    curves = {}
    for explainer in sim.reference:
        if name == "bottom-up":
            passed = differs(explainer, 0)
        elif name == "independent":
            passed = sum(differs(explainer, k) for k in range(len(steps))) > len(steps) / 2
        else:  # top-down: the last step; random-logit and label-permutation: their one step
            passed = differs(explainer, len(steps) - 1)
        curves[explainer] = SanityCurve(spearman=sim.spearman[explainer], ssim=sim.ssim[explainer], passed=passed)
    return SanityTest(name=name, steps=list(steps), passes_when=PASSES_WHEN[name], explainers=curves)


def sanity_tests(
    backbone: Backbone,
    factories: Mapping[str, Callable[[Backbone], Any]],
    split: DeviceSplit,
    indices: np.ndarray,
    targets: np.ndarray,
    normaliser: Normaliser,
    batch_size: int,
    config: SanitySpec,
    controls: Sequence[str] = (),
    num_classes: int = 5,
    permuted: Backbone | None = None,
) -> Sanity:
    """Every test of ``config.tests`` (and the label permutation when ``permuted``, the
    model trained on permuted labels, is given) for every explainer of ``factories``."""

    def maps_of(model_backbone: Backbone, target: np.ndarray) -> dict[str, np.ndarray]:
        return {
            name: explain(model_backbone.model, make(model_backbone), split, indices, target, normaliser, batch_size)
            for name, make in factories.items()
        }

    reference = maps_of(backbone, targets)
    tests = []
    clone = copy.deepcopy(backbone)  # groups and target layer stay consistent with the copied model
    pristine = [_group_state(g) for g in clone.groups]
    seed = config.seed
    for test in config.tests:
        sim = _Similarity(reference)
        if test in ("top-down", "bottom-up"):
            order = list(reversed(range(len(clone.groups)))) if test == "top-down" else list(range(len(clone.groups)))
            for step, i in enumerate(order):
                randomise_group(clone.groups[i], seed + step)
                sim.add(maps_of(clone, targets))
            steps = [clone.groups[i].name for i in order]
            for i, g in enumerate(clone.groups):
                _restore(g, pristine[i])
        elif test == "independent":
            for i, group in enumerate(clone.groups):
                randomise_group(group, seed + i)
                sim.add(maps_of(clone, targets))
                _restore(group, pristine[i])
            steps = [g.name for g in clone.groups]
        else:  # random-logit: another class, drawn for each patch
            rng = np.random.default_rng(seed)
            other = (np.asarray(targets) + rng.integers(1, num_classes, size=len(targets))) % num_classes
            sim.add(maps_of(backbone, other))
            steps = ["another class"]
        tests.append(_test(test, steps, sim, config))
    del clone
    if permuted is not None:
        sim = _Similarity(reference)
        sim.add(maps_of(permuted, targets))
        tests.append(_test("label-permutation", ["trained on permuted labels"], sim, config))
    return Sanity(
        n_patches=int(len(indices)),
        flag_above=config.flag_above,
        ssim_flag_above=config.ssim_flag_above,
        tests=tests,
        controls=[c for c in controls if c in factories],
    )
