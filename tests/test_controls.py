"""Model-free control maps, and the verdict that holds every score to the strongest of
them: a constant map's IoU is the mask's share of the patch; the controls read the patch
as stored (before normalisation) where they say so; "above controls" is refused to an
explainer a control beats, and the interval pays for choosing the strongest control."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.evaluation.localisation import explain
from benchmark.registry.loading import registries
from benchmark.report.statistics import beside_controls, compute_statistics
from benchmark.report.tables import against_controls, ll_against_controls, table_localisation
from benchmark.spec.schema import Bootstrap
from benchmark.training.device_data import DeviceSplit
from plugins.explainers.controls import CentreMaps, ConstantMaps, EdgeMaps, IntensityMaps
from plugins.localisation.iou import iou
from tests.factories import run_result


def test_every_control_is_a_registered_explainer() -> None:
    explainers = registries()["explainer"]
    for name in ("constant", "centre", "intensity", "edges", "random"):
        assert name in explainers


def test_a_constant_maps_iou_is_the_masks_share_of_the_patch() -> None:
    rng = np.random.default_rng(0)
    masks = np.zeros((4, 32, 32), bool)
    for i, (y, x, r) in enumerate([(16, 16, 5), (10, 20, 9), (16, 16, 14), (5, 5, 3)]):
        yy, xx = np.mgrid[:32, :32]
        masks[i] = (yy - y) ** 2 + (xx - x) ** 2 <= r * r
    maps = ConstantMaps()(torch.as_tensor(rng.random((4, 3, 32, 32)), dtype=torch.float32), torch.zeros(4))
    assert maps.shape == (4, 32, 32) and (maps == 1).all()
    for threshold in (0.5, 0.05, 0.95):
        assert np.allclose(iou(maps, masks, threshold), masks.mean(axis=(1, 2)))


def test_the_centre_map_is_a_quarter_side_gaussian() -> None:
    maps = CentreMaps()(torch.zeros(2, 3, 65, 65), torch.zeros(2))
    assert maps[0, 32, 32] == maps.max() == 1.0 and maps.min() == 0.0
    d = (np.arange(65) - 32) / (65 / 4)  # distance from the centre in sigmas
    blob = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / 2)
    assert np.allclose(maps[1], (blob - blob.min()) / (blob.max() - blob.min()), atol=1e-5)


class Shift:
    """A normaliser that would hide the raw patch: x -> 5 - 3x, channel by channel."""

    uses_labels = False

    def __call__(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return 5.0 - 3.0 * images


def test_intensity_and_edges_read_the_patch_before_normalisation() -> None:
    patches = np.zeros((2, 16, 16), np.uint8)
    patches[:, 4:12, 4:12] = 200  # a bright square
    split = DeviceSplit.from_arrays(patches, np.zeros(2, int), torch.device("cpu"))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 5))
    intensity = explain(model, IntensityMaps(), split, np.arange(2), np.zeros(2, int), Shift(), batch_size=2)
    assert np.allclose(intensity[0], patches[0] / 200.0, atol=1e-6)  # bright where the patch is, not inverted
    edges = explain(model, EdgeMaps(), split, np.arange(2), np.zeros(2, int), Shift(), batch_size=2)
    assert edges[0, 8, 8] < 1e-6 and edges[0, 8, 4] > 0.5 and edges[0, 0, 0] < 1e-6  # the square's outline


def _scored(values: list[float]) -> dict:
    return {
        "ll": float(np.mean(values)),
        "threshold": {"rule": "value", "value": 0.5},
        "n_correct_lesions": 8,
        "n_scored": 8,
        "n_zero_maps": 0,
        "zero_map_index": [],
        "patch_index": list(range(8)),
        "scores": values,
        "metrics": {},
        "curve": {"thresholds": [0.5], "ll": [float(np.mean(values))]},
    }


def _result(run_id: str, gradcam: list[float], centre: list[float]):
    random = [0.1] * 8
    return run_result(
        run_id=run_id,
        localisation={
            "controls": ["centre", "random"],
            "explainers": {"gradcam": _scored(gradcam), "centre": _scored(centre), "random": _scored(random)},
        },
        predictions={"patch_id": list(range(8)), "label": [1, 2] * 4, "proba": [[0.0, 1.0, 0, 0, 0]] * 8},
    )


def test_above_controls_is_refused_to_an_explainer_a_control_beats() -> None:
    beaten = _result("beaten", [0.5, 0.6, 0.4, 0.5, 0.55, 0.45, 0.5, 0.5], [0.7, 0.65, 0.6, 0.8, 0.7, 0.75, 0.6, 0.7])
    ahead = _result("ahead", [0.9, 0.85, 0.8, 0.95, 0.9, 0.88, 0.92, 0.9], [0.3, 0.35, 0.2, 0.4, 0.3, 0.25, 0.3, 0.3])
    stats = compute_statistics([beaten, ahead], ["gradcam", "centre", "random"], "random", Bootstrap(resamples=200))
    for r in (beaten, ahead):
        entry = stats["runs"][r.run_id]["localisation"]["gradcam"]["iou"]
        assert entry["control"] == "centre"  # the strongest control, named
        assert entry["baseline"] == pytest.approx(0.1)  # the random column stays
    assert against_controls(stats["runs"]["beaten"]["localisation"]["gradcam"]["iou"]) == "**no**"
    assert against_controls(stats["runs"]["ahead"]["localisation"]["gradcam"]["iou"]) == "yes"
    # both are far above random: only the controls tell them apart
    assert stats["runs"]["beaten"]["localisation"]["gradcam"]["iou"]["difference"]["low"] > 0
    verdicts = ll_against_controls([beaten, ahead], ["gradcam"], stats)
    assert [p.split("`")[3] for p in verdicts["not above"]] == ["beaten"]
    assert [p.split("`")[3] for p in verdicts["above"]] == ["ahead"]
    table = table_localisation([beaten, ahead], [], ["gradcam"], stats)
    assert list(table["above controls"]) == ["**no**", "yes"]
    assert list(table["strongest control"]) == ["centre 0.688", "centre 0.300"]


def test_the_interval_pays_for_choosing_the_strongest_control() -> None:
    rng = np.random.default_rng(0)
    mine = rng.normal(0.6, 0.05, 500)
    controls = {c: (0.55, rng.normal(0.55, 0.05, 500)) for c in ("a", "b", "c")}
    against_all = beside_controls(0.6, mine, controls, True, 0.95)
    against_one = beside_controls(0.6, mine, {"a": controls["a"]}, True, 0.95)
    assert against_all["control_difference"]["estimate"] == pytest.approx(0.05)
    assert against_all["control_difference"]["low"] < against_one["control_difference"]["low"]
    lower = beside_controls(0.2, mine - 0.4, {"a": (0.3, rng.normal(0.3, 0.01, 500))}, False, 0.95)
    assert lower["control"] == "a" and lower["control_difference"]["estimate"] == pytest.approx(0.1)  # lower is better
