"""The example package (examples/my-plugins), installed as a user would install a
third-party plugin: it registers one item of every kind through the entry-point group,
and a spec that uses all seven runs end to end with no change to cbis-bench."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow

SPEC = """
name: example
dataset: {plugin: toy-blobs, options: {images: 40, size: 160},
          patches: {size: 48, lesion_margin: 0.5, background_size: 40, background_per_image: 1}}
normaliser: per-image
matrix:
  backbone: [{name: tiny-net, options: {width: 8}}]
  strategy: [head-then-all]
  hparams: [{batch_size: 8, lr_head: 3.0e-3, lr_last_block: 1.0e-3}]
training: {pretrained: false, max_epochs: 2, device: cpu}
explain:
  explainers: [input-gradient, gradcam]
  localisation: {metric: iou, metrics: [centre-of-mass, pointing-game]}
  faithfulness: {metrics: [top-decile-drop, road-combined], patches: 8}
  sanity: {enabled: false}
report: {baselines: []}
loggers: [{name: jsonl-file, options: {path: LOG}}]
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    target = tmp_path_factory.mktemp("site")
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT / "examples" / "my-plugins"),
        ],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr
    return {"PYTHONPATH": f"{target}:{ROOT}", "CBIS_BENCH_DISABLE_PLUGIN_AUTOLOAD": "0"}


def test_every_kind_is_listed_with_its_origin(installed: dict[str, str]) -> None:
    listed = run_cli("plugins", env=installed)
    assert listed.code == 0, listed.output
    rows = {line.split("│")[1].strip(): line for line in listed.stdout.splitlines() if line.count("│") > 3}
    for name, kind in (
        ("tiny-net", "backbone"),
        ("head-then-all", "strategy"),
        ("per-image", "normaliser"),
        ("input-gradient", "explainer"),
        ("centre-of-mass", "localisation"),
        ("top-decile-drop", "faithfulness"),
        ("toy-blobs", "dataset"),
        ("jsonl-file", "logger"),
        ("thumbnail", "whole_model"),
    ):
        assert name in rows and kind in rows[name] and "my-plugins 0.1" in rows[name], name


def test_a_spec_using_every_kind_runs_end_to_end(installed: dict[str, str], tmp_path: Path) -> None:
    spec = tmp_path / "example.yaml"
    log = tmp_path / "runs.jsonl"
    spec.write_text(SPEC.replace("LOG", str(log)))
    ran = run_cli(
        "run", str(spec), "--home", str(tmp_path / "home"), "--reports", str(tmp_path / "reports"), env=installed
    )
    assert ran.code == 0, ran.output
    (result,) = json.loads((tmp_path / "reports" / "example" / "results.json").read_text())
    assert result["label"].startswith("tiny-net[width=8] / head-then-all")
    assert [p["name"] for p in result["phases"]] == ["head", "all"]
    assert result["normaliser"]["name"] == "per-image"
    explainers = result["localisation"]["explainers"]
    assert set(explainers) == {"input-gradient", "gradcam", "constant", "centre", "intensity", "edges", "random"}
    assert "centre-of-mass" in explainers["input-gradient"]["metrics"]
    faith = result["faithfulness"]["explainers"]["input-gradient"]  # the plugin's metric beside a built-in
    assert set(faith) == {"top-decile-drop", "road-combined"} and len(faith["top-decile-drop"]["scores"]) > 0
    assert result["provenance"]["plugins"]["dataset toy-blobs"].startswith("my-plugins==0.1")
    (logged,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert logged["run_id"] == result["run_id"] and logged["metrics"]["test/accuracy"] == result["test"]["accuracy"]
    assert logged["epochs"] == len(result["training"]["history"])


def test_the_example_whole_image_model_answers_within_the_contract(
    installed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``thumbnail`` called as the whole-image stage calls it (through the registry's
    checked call), on a small patch network and random whole images."""
    from types import SimpleNamespace

    import numpy as np
    import torch

    from benchmark.registry import loading
    from benchmark.registry.calls import run_whole_model

    monkeypatch.syspath_prepend(installed["PYTHONPATH"].split(":")[0])
    loading.reset()
    regs = loading.load_registries(["my_plugins"])
    loading.reset()
    sys.modules.pop("my_plugins", None)
    net = regs.get("backbone", "tiny-net").obj(num_classes=5, width=8)
    images = np.random.default_rng(0).integers(0, 256, (5, 64, 48), dtype=np.uint8)
    context = SimpleNamespace(
        backbone=net,
        images=images,
        split=lambda name: np.array([0, 2, 4]),
        patch_size=32,
        device=torch.device("cpu"),
        to_input=lambda x: x.float().div(255).expand(-1, 3, -1, -1),
    )
    out = run_whole_model(regs, "thumbnail", context, 3)
    assert out.scores.shape == (3,) and ((0 <= out.scores) & (out.scores <= 1)).all()
    assert out.maps.shape == (3, 64, 48) and out.details["input"] == "whole image resized to 32 x 32"
