"""The training benchmark measures both loops on the same model (figures, not timings,
are asserted: speed lives in the benchmark's output)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmark.bench.train import measure
from tests.conftest import run_cli


def test_measure_reports_both_loops_and_their_ratio() -> None:
    result = measure("timm/test_resnet", batch=4, size=32, steps=2, repeats=2, device_name="cpu")
    assert len(result["raw_images_per_s"]) == len(result["harness_images_per_s"]) == 2
    assert all(v > 0 for v in result["raw_images_per_s"] + result["harness_images_per_s"])
    assert result["trainable_groups"] == ["head", "stage3", "stage4"]
    assert result["mode"] == "fp32, deterministic"


def test_bench_train_command_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "train.json"
    result = run_cli(
        "bench",
        "train",
        "--backbone",
        "timm/test_resnet",
        "--batch",
        "4",
        "--size",
        "32",
        "--steps",
        "2",
        "--repeats",
        "1",
        "--device",
        "cpu",
        "--json",
        str(out),
    )
    assert result.code == 0, result.output
    assert "ratio harness / raw" in result.stdout
    assert json.loads(out.read_text())["backbone"] == "timm/test_resnet"


def test_bench_train_names_an_unknown_backbone_without_a_traceback() -> None:
    result = run_cli(
        "bench",
        "train",
        "--backbone",
        "resnt50",
        "--batch",
        "2",
        "--size",
        "32",
        "--steps",
        "1",
        "--repeats",
        "1",
        "--device",
        "cpu",
    )
    assert result.code == 2 and "Unknown backbone 'resnt50'. Did you mean: resnet50?" in result.stderr
    assert "Traceback" not in result.output
