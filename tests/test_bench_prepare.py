"""``cbis-bench bench prepare`` runs and reports its figures (speed itself is measured
by the benchmark, never asserted here)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

SPEC = """name: bench-tiny
dataset:
  plugin: synthetic-cbis-ddsm
  options: {seed: 2, images: 12, layout: tcia-classic}
  patches: {size: 32, background_size: 48, background_per_image: 1}
normaliser: dataset
matrix: {backbone: [resnet50], strategy: [simultaneous]}
"""


def test_bench_prepare_reports_decode_prepare_ratio_and_cache_hit(tmp_path: Path) -> None:
    spec = tmp_path / "bench-tiny.yaml"
    spec.write_text(SPEC)
    result = run_cli("bench", "prepare", str(spec), "--repeats", "2", "--home", str(tmp_path / "home"))
    assert result.code == 0, result.output
    assert "prepare / decode =" in result.stdout and "cache hit" in result.stdout
    figures = json.loads((tmp_path / "home" / "bench" / "prepare-bench-tiny.json").read_text())
    assert figures["mammograms"] == 12 and figures["masks"] >= 12 and figures["patches"] > 0
    for measure in ("decode_s", "prepare_s", "decode_cpu_s", "prepare_cpu_s", "cache_hit_s"):
        assert len(figures[measure]) == 2 and all(t > 0 for t in figures[measure]), measure
    assert f"prepare / decode = {figures['ratio']:.2f}" in result.stdout  # the printed ratio is the measured one
