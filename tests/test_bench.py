"""``cbis-bench bench explain`` reports images/s for both Grad-CAM implementations in one
run, on the same model and inputs, with the largest difference between their maps.
(Speed itself is measured by the benchmark, never asserted here.)"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_bench_explain_reports_both_implementations(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    ran = run_cli(
        "bench",
        "explain",
        "--backbone",
        "timm/test_resnet",
        "--size",
        "64",
        "--batch",
        "4",
        "--repeats",
        "2",
        "--warmup",
        "0",
        "--device",
        "cpu",
        "--road-batch",
        "4",
        "--json",
        str(out),
    )
    assert ran.code == 0, ran.output
    assert "gradcam-batched / gradcam:" in ran.stdout and "images/s" in ran.stdout
    figures = json.loads(out.read_text())
    assert set(figures["results"]) == {"gradcam", "gradcam-batched"}
    for row in figures["results"].values():
        assert row["images_per_s"] > 0 and row["min_s"] <= row["median_s"] <= row["max_s"]
    assert figures["max_abs_diff"] < 1e-3 and figures["ratio"] > 0
    road = figures["road"]  # ROAD: pytorch-grad-cam's and the batched one, the same maps and inputs
    assert "batched / pytorch-grad-cam ROAD:" in ran.stdout and road["images"] == 4
    assert set(road["results"]) == {"pytorch-grad-cam ROAD", "road-morf (batched)"}
    assert road["max_abs_diff"] < 5e-3 and road["ratio"] > 0


def test_bench_explain_names_an_unknown_explainer(tmp_path: Path) -> None:
    ran = run_cli(
        "bench",
        "explain",
        "--backbone",
        "timm/test_resnet",
        "--size",
        "32",
        "--batch",
        "2",
        "--candidate",
        "gradcam-fast",
    )
    assert ran.code == 2 and "Unknown explainer 'gradcam-fast'" in ran.stderr
