"""The README's main job, as a user runs it: ``cbis-bench run specs/fixture.yaml``.

Run twice from scratch, it gives identical results apart from what is measured
(timestamps, seconds, memory); run again on the same store, it skips every run; the
report holds Tables I-IV and the cited Petrini row.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow

SPEC = str(ROOT / "specs" / "fixture.yaml")


def _without_measurements(results: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "measurements"} for r in results]


@pytest.fixture(scope="module")
def first_run(fixture_run: Path) -> Path:
    return fixture_run


def test_report_has_the_study_tables(first_run: Path) -> None:
    report = (first_run / "reports" / "fixture" / "report.md").read_text()
    for heading in ("## Table I. Patches per class and split", "## Table II. Accuracy, batch size and best epoch",
                    "## Table III. One-vs-rest AUC", "## Table IV. Lesion localisation (LL), accuracy and Acc x LL",
                    "## Data preparation audit", "## Provenance"):
        assert heading in report
    petrini = next(line for line in report.splitlines() if "Petrini et al. 2022 (cited)" in line)
    assert "| 0.76 " in petrini and "| 40 " in petrini  # as printed
    results = json.loads((first_run / "reports" / "fixture" / "results.json").read_text())
    assert {r["config"]["strategy"] for r in results} == {"simultaneous", "gradual-unfreezing"}
    for r in results:
        correct = sum(max(range(5), key=p.__getitem__) == y for p, y in zip(r["predictions"]["proba"],
                                                                           r["predictions"]["label"]))
        assert r["test"]["accuracy"] == correct / r["test"]["n"] and r["test"]["n"] == len(r["predictions"]["label"])
        assert r["measurements"]["memory"]["host_peak_rss_mib"] > 0
        assert r["provenance"]["deterministic"] is True and len(r["model"]["weights_hash"]) == 16
        assert r["localisation"]["explainers"]["gradcam"]["n_scored"] > 0
    csv = (first_run / "reports" / "fixture" / "results.csv").read_text().splitlines()
    assert len(csv) == 1 + len(results)


def test_report_has_intervals_comparisons_sanity_and_figures(first_run: Path) -> None:
    folder = first_run / "reports" / "fixture"
    report = (folder / "report.md").read_text()
    for heading in ("## Confidence intervals (95%, stratified bootstrap)", "## Paired comparisons on the same test set",
                    "## Localisation scores beside the `random` baseline", "## Sanity check: cascading randomisation"):
        assert heading in report
    results = json.loads((folder / "results.json").read_text())
    stats = json.loads((folder / "statistics.json").read_text())
    assert len(stats["comparisons"]) == 1 and stats["bootstrap"]["resamples"] == 1000
    for r in results:
        loc = r["localisation"]
        assert loc["baseline"] == "random" and set(loc["explainers"]) == {"gradcam-batched", "gradcam", "random"}
        batched, reference = loc["explainers"]["gradcam-batched"], loc["explainers"]["gradcam"]
        assert batched["patch_index"] == reference["patch_index"]
        assert max(abs(a - b) for a, b in zip(batched["scores"], reference["scores"])) < 0.02  # maps within 1e-3
        assert set(batched["metrics"]) == {"iou-sweep", "pointing-game", "energy-pointing-game", "relevance-mass",
                                           "relevance-rank", "iou@otsu", "iou@validation"}
        assert batched["validation"]["chosen"] in batched["curve"]["thresholds"]
        assert set(loc["sanity"]["explainers"]) == {"gradcam-batched", "gradcam"}
        accuracy = stats["runs"][r["run_id"]]["accuracy"]
        assert accuracy["low"] <= r["test"]["accuracy"] <= accuracy["high"]
    links = re.findall(r"!\[[^]]*\]\(([^)]+\.png)\)", report)
    assert len(links) == len(results) * 6  # confusion, ROC, training, LL against threshold, two galleries
    for link in links:
        with Image.open(folder / link) as image:
            pixels = np.asarray(image.convert("L"))
        assert min(pixels.shape) > 200 and pixels.std() > 10  # drawn, not blank


def test_second_run_from_scratch_is_identical(first_run: Path, tmp_path: Path) -> None:
    result = run_cli("run", SPEC, "--home", str(tmp_path / "home"), "--reports", str(tmp_path / "reports"))
    assert result.code == 0, result.output
    a = json.loads((first_run / "reports" / "fixture" / "results.json").read_text())
    b = json.loads((tmp_path / "reports" / "fixture" / "results.json").read_text())
    assert _without_measurements(a) == _without_measurements(b)


def test_rerun_skips_finished_runs_and_report_rebuilds(first_run: Path) -> None:
    report = first_run / "reports" / "fixture" / "report.md"
    before = report.read_text()
    report.unlink()
    again = run_cli("run", SPEC, "--home", str(first_run / "home"), "--reports", str(first_run / "reports"))
    assert again.code == 0, again.output
    assert "already done" in again.stdout
    assert report.read_text() == before
    report.unlink()
    stale = first_run / "reports" / "fixture" / "figures" / "0123456789ab"  # a run this spec no longer has
    stale.mkdir()
    (stale / "figures.json").write_text("{}")
    rebuilt = run_cli("report", SPEC, "--home", str(first_run / "home"), "--reports", str(first_run / "reports"))
    assert rebuilt.code == 0 and report.read_text() == before
    assert not stale.exists()  # the folder holds the figures of the runs it shows, no others


def test_report_without_runs_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("report", SPEC, "--home", str(tmp_path / "empty"))
    assert result.code == 2 and "no finished run of spec 'fixture'" in result.stderr


def test_ray_executor_gives_the_local_results(first_run: Path, tmp_path: Path) -> None:
    """Each run as a task on a local Ray instance (2 CPUs): the same results as the local executor."""
    pytest.importorskip("ray")
    result = run_cli("run", SPEC, "--executor", "ray", "--home", str(tmp_path / "home"), "--reports", str(tmp_path / "reports"))
    assert result.code == 0, result.output
    assert result.stdout.count("done: ") == 2
    a = json.loads((first_run / "reports" / "fixture" / "results.json").read_text())
    b = json.loads((tmp_path / "reports" / "fixture" / "results.json").read_text())
    assert _without_measurements(a) == _without_measurements(b)
