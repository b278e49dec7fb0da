"""Repeatability and reproducibility of saliency maps (Arun et al. 2021, "Assessing the
trustworthiness of saliency maps for localizing abnormalities in medical imaging").

Every run stores its explainers' maps of all test lesion patches, explained for the true
class (``maps-<explainer>``, reduced in size). For each pair of runs on the same test
patches, the maps of the same patch are compared by SSIM and Spearman rank correlation:
*repeatability* when the two runs differ only in seed, *reproducibility* otherwise
(another backbone, strategy or hyperparameter set). Beside each, the *floor*: the same
statistic between maps of randomly paired different patches of the two runs. A map that
belongs to the model and the image, not to the training run, agrees well above the floor.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from benchmark.evaluation.bootstrap import percentile_interval, stratified_indices
from benchmark.evaluation.records import Agreement, AgreementPair
from benchmark.evaluation.sanity import sanity_patches
from benchmark.evaluation.similarity import spearman_per_patch, ssim_per_patch
from benchmark.spec.schema import Agreement as AgreementSpec
from benchmark.spec.schema import Bootstrap

#: a run's stored maps: patch id -> position, and the maps (N, s, s)
LoadMaps = Callable[[str, str], "Mapping[str, np.ndarray] | None"]


def pair_kind(a: Mapping[str, object], b: Mapping[str, object]) -> str:
    """``repeatability`` when two runs' configurations differ in their seed only."""
    same = {k: v for k, v in a.items() if k != "seed"} == {k: v for k, v in b.items() if k != "seed"}
    return "repeatability" if same else "reproducibility"


def _derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A permutation of 0..n-1 that moves every index (a cyclic shift of a shuffle)."""
    order = rng.permutation(n)
    out = np.empty(n, dtype=int)
    out[order] = np.roll(order, 1)
    return out


def compare_maps(
    maps_a: np.ndarray, maps_b: np.ndarray, labels: np.ndarray, bootstrap: Bootstrap, seed: int
) -> dict[str, dict[str, float | None]]:
    """The four statistics of one pair, each with its stratified bootstrap interval."""
    a, b = maps_a.astype(np.float32), maps_b.astype(np.float32)
    other = _derangement(len(b), np.random.default_rng(seed)) if len(b) > 1 else np.arange(len(b))
    per_patch = {
        "ssim": ssim_per_patch(a, b),
        "spearman": spearman_per_patch(a, b),
        "floor_ssim": ssim_per_patch(a, b[other]),
        "floor_spearman": spearman_per_patch(a, b[other]),
    }
    idx = stratified_indices(labels, bootstrap.resamples, bootstrap.seed)
    out = {}
    for name, values in per_patch.items():
        estimate = float(values.mean()) if len(values) else None
        out[name] = percentile_interval(
            estimate, values[idx].mean(axis=1) if len(values) else np.zeros(0), bootstrap.confidence
        ).to_dict()
    return out


def agreement(
    runs: Sequence[tuple[str, Mapping[str, object], str]],
    explainers: Sequence[str],
    load: LoadMaps,
    labels: Mapping[int, int],
    config: AgreementSpec,
    bootstrap: Bootstrap,
) -> Agreement:
    """Every pair of ``runs`` (run id, configuration, test-set key) on the same test set,
    for each explainer both stored maps of, on at most ``config.patches`` shared patches."""
    pairs = []
    for explainer in explainers:
        stored = {run_id: load(run_id, explainer) for run_id, _, _ in runs}
        for (ra, ca, ka), (rb, cb, kb) in itertools.combinations(runs, 2):
            ma, mb = stored[ra], stored[rb]
            if ka != kb or ma is None or mb is None:
                continue
            ids_a = {int(p): i for i, p in enumerate(ma["patch_id"])}
            ids_b = {int(p): i for i, p in enumerate(mb["patch_id"])}
            shared = np.array(sorted(set(ids_a) & set(ids_b)), dtype=np.int64)
            shared = shared[sanity_patches(np.arange(len(shared)), config.patches)] if len(shared) else shared
            if len(shared) < 2:
                continue
            a = ma["maps"][[ids_a[int(p)] for p in shared]]
            b = mb["maps"][[ids_b[int(p)] for p in shared]]
            stats = compare_maps(a, b, np.array([labels[int(p)] for p in shared]), bootstrap, config.seed)
            pairs.append(
                AgreementPair(a=ra, b=rb, kind=pair_kind(ca, cb), explainer=explainer, n=int(len(shared)), **stats)
            )
    return Agreement(runs=[r for r, _, _ in runs], explainers=list(explainers), size=config.size, pairs=pairs)
