"""The sanity tests: Grad-CAM's maps drift away as the model is randomised (top-down,
bottom-up, one group at a time) and differ between classes; maps computed from the image
alone do not, and fail every test, a constant map included (Spearman is blind to it, SSIM
is not). SSIM is computed for a whole stack as scikit-image computes it."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from benchmark.evaluation.sanity import randomise_group, sanity_tests
from benchmark.evaluation.similarity import spearman_per_patch, ssim_per_patch
from benchmark.spec.schema import Sanity
from benchmark.training.device_data import DeviceSplit
from plugins.backbones.timm_models import timm_backbone
from plugins.explainers.batched_gradcam import BatchedGradCam
from plugins.explainers.controls import ConstantMaps, EdgeMaps
from plugins.normalisers import ImageNetNormaliser


def test_spearman_per_patch() -> None:
    a = np.random.default_rng(0).random((3, 5, 5))
    b = np.stack([a[0], 1 - a[1], np.zeros((5, 5))])
    assert np.allclose(spearman_per_patch(a, b), [1.0, -1.0, 0.0])  # a constant map shares no ranking


@pytest.mark.parametrize("shape", [(4, 96, 96), (3, 7, 7), (2, 5, 5)])
def test_batched_ssim_is_scikit_images(shape: tuple[int, int, int]) -> None:
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(1)
    a = rng.random(shape)
    b = np.clip(a + rng.normal(0, 0.2, shape), 0, 1)
    win = min(7, shape[1] - 1 + shape[1] % 2)
    reference = [structural_similarity(x, y, data_range=1.0, win_size=win) for x, y in zip(a, b, strict=True)]
    assert np.allclose(ssim_per_patch(a, b), reference, atol=1e-12)
    flat = np.ones((2, 9, 9))
    assert np.allclose(ssim_per_patch(flat, flat), 1.0)  # two equal flat maps are alike


def test_randomising_a_group_changes_it_alone_and_is_seeded() -> None:
    torch.manual_seed(0)
    a = timm_backbone("test_resnet", 5)
    b = copy.deepcopy(a)
    head, stem = a.groups[-1], a.groups[0]
    head_before, stem_before = [p.clone() for p in head.parameters()], [p.clone() for p in stem.parameters()]
    randomise_group(head, seed=3)
    randomise_group(b.groups[-1], seed=3)
    assert all(torch.equal(p, q) for p, q in zip(head.parameters(), b.groups[-1].parameters(), strict=True))
    assert not any(torch.equal(p, q) for p, q in zip(head.parameters(), head_before, strict=True))
    assert all(torch.equal(p, q) for p, q in zip(stem.parameters(), stem_before, strict=True))


@pytest.fixture(scope="module")
def tested() -> tuple:
    torch.manual_seed(0)
    backbone = timm_backbone("test_resnet", 5)
    rng = np.random.default_rng(0)
    images = (rng.random((6, 64, 64)) * 255).astype(np.uint8)
    split = DeviceSplit.from_arrays(images, np.zeros(6, int), torch.device("cpu"))
    reference = {k: v.clone() for k, v in backbone.model.state_dict().items()}
    normaliser = ImageNetNormaliser()
    with torch.no_grad():  # explained for the predicted class, as the evaluation does
        predicted = backbone.model.eval()(normaliser(split.images.float().div(255).expand(-1, 3, -1, -1))).argmax(1)
    permuted = timm_backbone("test_resnet", 5)  # another model: stands in for one trained on permuted labels
    result = sanity_tests(
        backbone,
        {"gradcam-batched": BatchedGradCam, "edges": EdgeMaps, "constant": ConstantMaps},
        split,
        np.arange(6),
        predicted.numpy(),
        normaliser,
        batch_size=4,
        config=Sanity(patches=6),
        controls=["edges", "constant"],
        permuted=permuted,
    )
    return backbone, reference, result


def test_every_test_runs_on_a_copy_and_names_its_steps(tested: tuple) -> None:
    backbone, reference, result = tested
    assert [t.name for t in result.tests] == [
        "top-down",
        "bottom-up",
        "independent",
        "random-logit",
        "label-permutation",
    ]
    names = [g.name for g in backbone.groups]
    steps = {t.name: t.steps for t in result.tests}
    assert steps["top-down"] == names[::-1] and steps["bottom-up"] == names and steps["independent"] == names
    assert all(t.passes_when for t in result.tests)
    assert all(torch.equal(v, reference[k]) for k, v in backbone.model.state_dict().items())  # the model untouched


def test_gradcam_passes_where_model_free_maps_fail_every_test(tested: tuple) -> None:
    _, _, result = tested
    top_down = next(t for t in result.tests if t.name == "top-down")
    assert top_down.explainers["gradcam-batched"].spearman[-1] < 0.5 and top_down.explainers["gradcam-batched"].passed
    for test in result.tests:
        edges, constant = test.explainers["edges"], test.explainers["constant"]
        assert edges.spearman == [1.0] * len(test.steps) and not edges.passed
        assert constant.spearman == [0.0] * len(test.steps)  # Spearman alone would let a flat map pass ...
        assert constant.ssim == [1.0] * len(test.steps) and not constant.passed  # ... SSIM does not
    random_logit = next(t for t in result.tests if t.name == "random-logit")
    assert random_logit.explainers["gradcam-batched"].passed  # another class, another map
    # controls fail by construction and are never reported as an explainer's failure
    assert all(name == "gradcam-batched" for _, name in result.failures())


@pytest.mark.slow
def test_label_permutation_trains_a_second_model_and_compares_its_maps(tmp_path) -> None:
    """``sanity.label_permutation``: the run trained again on shuffled labels (kept like any
    trained weights, so a second invocation trains nothing), its maps compared."""
    import json

    import yaml

    from tests.conftest import ROOT, run_cli

    data = yaml.safe_load((ROOT / "specs" / "fixture.yaml").read_text())
    data["name"] = "permuted"
    data["dataset"]["options"]["images"] = 60
    data["matrix"]["strategy"] = ["simultaneous"]
    data["training"]["max_epochs"] = 2
    data["explain"] |= {
        "explainers": ["gradcam-batched"],
        "controls": ["random"],
        "faithfulness": {"metrics": []},
        "sanity": {"enabled": True, "patches": 4, "tests": ["top-down"], "label_permutation": True},
        "gallery": 0,
    }
    spec = tmp_path / "permuted.yaml"
    spec.write_text(yaml.safe_dump(data))
    args = ("run", str(spec), "--home", str(tmp_path / "home"), "--reports", str(tmp_path / "reports"))
    ran = run_cli(*args)
    assert ran.code == 0, ran.output
    (result,) = json.loads((tmp_path / "reports" / "permuted" / "results.json").read_text())
    tests = {t["name"]: t for t in result["sanity"]["tests"]}
    assert set(tests) == {"top-down", "label-permutation"}
    assert tests["label-permutation"]["steps"] == ["trained on permuted labels"]
    assert len(tests["label-permutation"]["explainers"]["gradcam-batched"]["spearman"]) == 1
    trained = sorted(p.name for p in (tmp_path / "home" / "runs" / "trained").glob("*.pt"))
    assert len(trained) == 2 and sum("-permuted-" in name for name in trained) == 1
    report = (tmp_path / "reports" / "permuted" / "report.md").read_text()
    assert "label-permutation" in report
