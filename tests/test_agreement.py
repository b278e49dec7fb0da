"""Repeatability and reproducibility of maps across runs: pairs of runs on the same test
patches are classified by what differs between them, the same patch's maps are compared
beside randomly paired different patches (the floor), and runs on other patches or
without stored maps are left out."""

from __future__ import annotations

import numpy as np

from benchmark.evaluation.agreement import agreement, pair_kind
from benchmark.spec.schema import Agreement, Bootstrap


def _maps(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:16, :16]
    centres = rng.integers(3, 13, size=(n, 2))
    return np.stack([np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / 8.0) for y, x in centres]).astype(np.float16)


def test_pairs_are_classified_and_the_same_patch_agrees_above_the_floor() -> None:
    base = _maps(12, 0)
    noisy = np.clip(base + np.random.default_rng(1).normal(0, 0.05, base.shape), 0, 1).astype(np.float16)
    stored = {
        ("a", "g"): {"patch_id": np.arange(12), "maps": base},
        ("b", "g"): {"patch_id": np.arange(12)[::-1], "maps": noisy[::-1]},  # another order: matched by id
        ("c", "g"): {"patch_id": np.arange(12), "maps": _maps(12, 2)},
        ("d", "g"): {"patch_id": np.arange(12), "maps": base},
    }
    config_a = {"backbone": "net", "strategy": "s", "seed": 0}
    runs = [
        ("a", config_a, "set1"),
        ("b", config_a | {"seed": 1}, "set1"),
        ("c", config_a | {"strategy": "t"}, "set1"),
        ("d", config_a, "set2"),
        ("e", config_a, "set1"),
    ]
    result = agreement(
        runs,
        ["g"],
        lambda run, e: stored.get((run, e)),
        {i: i % 5 for i in range(12)},
        Agreement(),
        Bootstrap(resamples=200),
    )
    pairs = {(p.a, p.b): p for p in result.pairs}
    assert set(pairs) == {("a", "b"), ("a", "c"), ("b", "c")}  # d: other patches; e: no maps stored
    assert pairs[("a", "b")].kind == "repeatability" and pairs[("a", "c")].kind == "reproducibility"
    same = pairs[("a", "b")]
    assert same.n == 12 and same.ssim["estimate"] > 0.7 and same.spearman["estimate"] > 0.5
    assert same.floor_ssim["high"] < same.ssim["low"] and same.floor_spearman["high"] < same.spearman["low"]  # far less
    assert pairs[("a", "c")].ssim["estimate"] < same.ssim["estimate"]


def test_runs_differing_only_in_seed_are_a_repeatability_pair() -> None:
    assert pair_kind({"seed": 0, "backbone": "x"}, {"seed": 3, "backbone": "x"}) == "repeatability"
    assert pair_kind({"seed": 0, "backbone": "x"}, {"seed": 0, "backbone": "y"}) == "reproducibility"
