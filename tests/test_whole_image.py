"""The whole-mammogram stage, piece by piece: image labels and merging, the sliding-window
heatmap against the patch classifier on the same crops, the Shen model's start from a
patch network, the localisation scores on constructed maps, the spec section."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from benchmark.data.audit import Audit
from benchmark.data.catalogue import Catalogue, ImageRecord, Lesion
from benchmark.run.config import expand, spec_hash
from benchmark.spec.loader import SpecError, load_spec
from benchmark.spec.schema import Bootstrap, Threshold, ValidationSplit
from benchmark.whole.evaluate import classification, iou, localisation, paired, pointing_game, sensitivity_at
from benchmark.whole.images import BOTH_SPLITS, MERGED, mammograms, prepare_whole
from plugins.whole_models.heatmap import MALIGNANT_CLASSES, heatmaps, positions, window_probabilities
from tests.conftest import ROOT


def _lesion(kind: str, pathology: str, n: int) -> Lesion:
    return Lesion(str(n), kind, pathology, None, f"/masks/{kind}-{n}.png", f"rows.csv row {n}")


def _record(subject: str, split: str, *lesions: Lesion) -> ImageRecord:
    patient = "_".join(subject.split("_")[1:3])
    return ImageRecord(subject, f"/images/{subject}.png", split, patient, tuple(lesions), False, {"subject": subject})


def test_image_labels_merge_files_and_keep_a_mammogram_on_one_side() -> None:
    audit = Audit()
    found = {
        m.key: m
        for m in mammograms(
            [
                # one image, a benign and a malignant lesion: malignant
                _record(
                    "Mass-Training_P_00001_LEFT_CC",
                    "train",
                    _lesion("mass", "BENIGN", 1),
                    _lesion("mass", "MALIGNANT", 2),
                ),
                # the same mammogram as a calcification file (training) and a mass file (test): one image, in test
                _record("Calc-Training_P_00002_RIGHT_MLO", "train", _lesion("calcification", "BENIGN", 1)),
                _record("Mass-Test_P_00002_RIGHT_MLO", "test", _lesion("mass", "MALIGNANT", 1)),
                # BENIGN_WITHOUT_CALLBACK counts as benign
                _record(
                    "Calc-Training_P_00003_LEFT_MLO", "train", _lesion("calcification", "BENIGN_WITHOUT_CALLBACK", 1)
                ),
                _record("Mass-Training_P_00003_LEFT_CC", "train", _lesion("mass", "BENIGN", 1)),
            ],
            audit,
        )
    }
    assert sorted(found) == ["P_00001_LEFT_CC", "P_00002_RIGHT_MLO", "P_00003_LEFT_CC", "P_00003_LEFT_MLO"]
    assert found["P_00001_LEFT_CC"].label == 1
    merged = found["P_00002_RIGHT_MLO"]
    assert (merged.label, merged.split, len(merged.files), len(merged.mask_paths)) == (1, "test", 2, 2)
    assert found["P_00003_LEFT_MLO"].label == 0 and found["P_00003_LEFT_CC"].label == 0
    assert audit.counts[BOTH_SPLITS] == 1 and audit.counts[MERGED] == 1


class _CountingDataset:
    """Reads a blank mammogram and mask, slowly enough for two readers to overlap."""

    def __init__(self) -> None:
        self.images_read = 0

    def read_image(self, path: Path) -> np.ndarray:
        self.images_read += 1
        time.sleep(0.02)
        return np.full((60, 40), 100, dtype=np.uint8)

    def read_mask(self, path: Path) -> np.ndarray:
        mask = np.zeros((60, 40), dtype=np.uint8)
        mask[20:30, 10:20] = 255
        return mask


def test_two_preparations_at_once_resize_the_images_once(tmp_path: Path) -> None:
    records = [
        _record(
            f"Mass-{'Training' if n < 8 else 'Test'}_P_{n:05d}_LEFT_CC",
            "train" if n < 8 else "test",
            _lesion("mass", "MALIGNANT" if n % 2 else "BENIGN", n),
        )
        for n in range(12)
    ]
    catalogue = Catalogue(records, source_digest="constructed")
    dataset = _CountingDataset()
    answers: list[bool] = []

    def prepare() -> None:  # each call takes the lock through its own file handle, as a second process does
        answers.append(prepare_whole(dataset, catalogue, (30, 20), ValidationSplit(), tmp_path / "cache")[1])

    readers = [threading.Thread(target=prepare) for _ in range(2)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert sorted(answers) == [False, True]  # one made the entry, the other waited and found it
    assert dataset.images_read == len(records)


class _Normaliser:
    uses_labels = False

    def __call__(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return (images - 0.4) / 0.2


def _patch_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5)).eval()


def test_heatmap_is_the_patch_classifier_on_the_same_crops() -> None:
    from benchmark.training.device_data import to_input

    net, norm = _patch_net(), _Normaliser()
    image = np.random.default_rng(0).integers(0, 256, (70, 50), dtype=np.uint8)
    window, stride = 32, 16
    feed = lambda x: to_input(x, None, norm)  # noqa: E731 (the context's to_input)
    grid = window_probabilities(net, feed, torch.from_numpy(image), window, stride)
    ys, xs = positions(70, window, stride), positions(50, window, stride)
    assert ys == [0, 16, 32, 38] and xs == [0, 16, 18]  # the last window is flush with the edge
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            crop = torch.from_numpy(image[y : y + window, x : x + window].copy())[None, None]
            with torch.no_grad():
                expected = torch.softmax(net(to_input(crop, None, norm)), 1)[0]
            torch.testing.assert_close(grid[i, j], expected, rtol=1e-5, atol=1e-6)
    found = heatmaps(net, feed, image[None], window, stride, torch.device("cpu"))
    malignant = grid[..., MALIGNANT_CLASSES].sum(-1).numpy()
    assert found.scores[0] == pytest.approx(malignant.max())
    assert found.maps.shape == (1, 70, 50)
    assert found.maps[0, 0, 0] == pytest.approx(malignant[0, 0])  # covered by the first window only
    film = image.copy()
    film[:, :10] = 0  # the film beside the breast: windows partly on it score 0
    outside = heatmaps(net, feed, film[None], window, stride, torch.device("cpu"))
    assert outside.maps[0, 0, 0] == 0.0 and outside.maps[0, 0, -1] > 0.0


def test_windows_of_another_size_are_resized_to_the_patch_size_first() -> None:
    from benchmark.training.device_data import to_input

    net, norm = _patch_net(), _Normaliser()
    image = np.random.default_rng(1).integers(0, 256, (40, 40), dtype=np.uint8)
    grid = window_probabilities(net, lambda x: to_input(x, None, norm), torch.from_numpy(image), 20, 20, size=32)
    crop = to_input(torch.from_numpy(image[20:40, 0:20].copy())[None, None], None, norm)
    resized = torch.nn.functional.interpolate(crop, size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(grid[1, 0], torch.softmax(net(resized), 1)[0], rtol=1e-5, atol=1e-6)


def test_shen_model_starts_from_the_patch_networks_weights() -> None:
    from benchmark.registry.calls import build_backbone
    from benchmark.registry.loading import registries
    from plugins.whole_models.shen import ShenModel, shen_backbone

    regs = registries([])
    patch = build_backbone(regs, "timm/test_resnet", num_classes=5, pretrained=False)
    with torch.no_grad():  # "trained": weights no fresh network would have
        for p in patch.model.parameters():
            p.add_(torch.randn_like(p))
    before = {k: v.clone() for k, v in patch.model.state_dict().items()}
    whole = shen_backbone(patch, top_channels=8)
    assert isinstance(whole.model, ShenModel)
    mine = whole.model.state_dict()
    shared = [k for k in mine if k.startswith("features.model.")]
    assert shared
    for key in shared:
        torch.testing.assert_close(mine[key], before[key.removeprefix("features.model.")], rtol=0, atol=0)
    assert [g.name for g in whole.groups][-1] == "top"
    grouped = {id(p) for g in whole.groups for p in g.parameters()}
    assert grouped == {id(p) for p in whole.model.parameters()}  # every parameter trains in some group
    assert whole.model(torch.zeros(2, 3, 96, 64)).shape == (2, 2)  # any image size


def test_pointing_game_and_iou_on_constructed_maps() -> None:
    masks = np.zeros((3, 10, 10), bool)
    masks[:, 2:5, 2:5] = True
    maps = np.zeros((3, 10, 10), np.float32)
    maps[0, 3, 3] = 1.0  # maximum in the lesion
    maps[1, 8, 8] = 1.0  # maximum outside
    # maps[2]: constant, points nowhere
    assert pointing_game(maps, masks).tolist() == [1.0, 0.0, 0.0]
    maps[0, 2:5, 2:5] = 0.9
    maps[0, 3, 3] = 1.0
    assert iou(maps, masks, Threshold(rule="value", value=0.5)).tolist() == [1.0, 0.0, 0.0]
    found = localisation(maps, masks, Threshold(rule="value", value=0.5), seed=0)
    assert found["pointing_game"] == pytest.approx(1 / 3) and found["pointing_game_random"] is not None


def test_auc_interval_sensitivity_and_paired_comparison() -> None:
    labels = np.array([0] * 20 + [1] * 20)
    perfect = labels + np.linspace(0, 0.5, 40)
    noisy = np.random.default_rng(0).random(40)
    boot = Bootstrap(resamples=200)
    found = classification(labels, perfect, boot, [0.8, 0.9])
    assert found["auc"]["estimate"] == 1.0 and found["auc"]["low"] == 1.0
    assert found["sensitivity_at"] == {"0.8": 1.0, "0.9": 1.0}
    assert sensitivity_at(labels, -perfect, 0.9) == 0.0
    diff = paired(labels, perfect, noisy, boot)
    assert diff["difference"]["low"] > 0 and diff["p_value"] < 0.05


def _spec_text(extra: str = "") -> str:
    return (ROOT / "specs" / "whole-image-fixture.yaml").read_text() + extra


def test_whole_image_section_is_outside_the_patch_runs(tmp_path: Path) -> None:
    with_whole = load_spec(ROOT / "specs" / "whole-image-fixture.yaml")
    data = yaml.safe_load(_spec_text())
    del data["whole_image"]
    path = tmp_path / "plain.yaml"
    path.write_text(yaml.safe_dump(data))
    plain = load_spec(path)
    assert spec_hash(plain) == spec_hash(with_whole)
    assert [r.run_id for r in expand(plain)] == [r.run_id for r in expand(with_whole)]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"effective_batch": 12}, "whole_image.effective_batch"),
        ({"models": ["heatmap", "gmic"]}, "whole_image.models"),
        ({"image_size": [192]}, "whole_image.image_size"),
    ],
)
def test_bad_whole_image_settings_name_the_field(tmp_path: Path, change: dict, field: str) -> None:
    data = yaml.safe_load(_spec_text())
    data["whole_image"] |= change
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert field in str(error.value)


def test_selected_patch_runs_need_a_selection(tmp_path: Path) -> None:
    data = yaml.safe_load(_spec_text())
    del data["select"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert "whole_image.patch_runs" in str(error.value)


def test_bench_train_measures_the_whole_image_model() -> None:
    from benchmark.bench.train import measure

    found = measure("timm/test_resnet", batch=2, steps=1, repeats=1, device_name="cpu", whole=(64, 48))
    assert found["size"] == "64x48" and found["whole_image"] and found["ratio"] > 0


def test_real_csvs_give_the_documented_mammogram_counts() -> None:
    """docs/cbis-ddsm-data.md, last section: 3,032 mammograms by (patient, breast, view),
    71 in both a mass and a calcification file, 29 of them on both sides of the split."""
    from plugins.datasets.cbis_ddsm.case_tables import read_case_tables
    from tests.conftest import REAL_CSV_DIR

    table = read_case_tables(REAL_CSV_DIR, Audit())
    records = []
    for series, rows in table.groupby(table["image_path"].map(lambda p: p.series_uid), sort=True):
        first = rows.iloc[0]
        lesions = tuple(
            Lesion(
                str(r.abnormality_id),
                r.lesion_kind,
                str(r.pathology).upper(),
                None,
                f"{series}-{i}",
                f"{r.source_file} row {r.source_row}",
            )
            for i, r in enumerate(rows.itertuples())
        )
        records.append(
            ImageRecord(
                series,
                f"/{series}.dcm",
                first["split"],
                first["patient_id"],
                lesions,
                False,
                {"subject": first["image_path"].subject},
            )
        )
    audit = Audit()
    found = mammograms(records, audit)
    assert len(found) == 3032
    assert audit.counts[MERGED] == 71 and audit.counts[BOTH_SPLITS] == 29
    train = [m for m in found if m.split == "train"]
    test = [m for m in found if m.split == "test"]
    assert (len(train), len(test)) == (2391, 641)  # the 29 are in test only
    # as given (both-sides images counted on each side): train 1,097 malignant, test 262; merged and moved:
    assert (sum(m.label for m in train), sum(m.label for m in test)) == (1080, 267)
