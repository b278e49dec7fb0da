"""The README's main job, as a user runs it: ``cbis-bench run specs/fixture.yaml``.

Run twice from scratch, it gives identical results apart from what is measured
(timestamps, seconds, memory); run again on the same store, it skips every run; the
report holds Tables I-IV and the cited Petrini row.
"""

from __future__ import annotations

import importlib.util
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
    for heading in (
        "## Table I. Patches per class and split",
        "## Table II. Accuracy, batch size and best epoch",
        "## Table III. One-vs-rest AUC",
        "## Table IV. Lesion localisation (LL), accuracy and Acc x LL",
        "## Data preparation audit",
        "## Provenance",
    ):
        assert heading in report
    petrini = next(line for line in report.splitlines() if "Petrini et al. 2022 (cited)" in line)
    assert "| 0.76 " in petrini and "| 40 " in petrini  # as printed
    results = json.loads((first_run / "reports" / "fixture" / "results.json").read_text())
    assert {r["config"]["strategy"] for r in results} == {"simultaneous", "gradual-unfreezing"}
    for r in results:
        correct = sum(
            max(range(5), key=p.__getitem__) == y
            for p, y in zip(r["predictions"]["proba"], r["predictions"]["label"], strict=True)
        )
        assert r["test"]["accuracy"] == correct / r["test"]["n"] and r["test"]["n"] == len(r["predictions"]["label"])
        assert r["measurements"]["memory"]["host_peak_rss_mib"] > 0
        assert r["provenance"]["deterministic"] is True and len(r["model"]["weights_hash"]) == 16
        assert r["localisation"]["explainers"]["gradcam"]["n_scored"] > 0
    csv = (first_run / "reports" / "fixture" / "results.csv").read_text().splitlines()
    assert len(csv) == 1 + len(results)


def test_report_has_intervals_comparisons_evidence_and_figures(first_run: Path) -> None:
    folder = first_run / "reports" / "fixture"
    report = (folder / "report.md").read_text()
    for heading in (
        "## Findings",
        "## Confidence intervals (95%, stratified bootstrap)",
        "## Paired comparisons on the same test set",
        "## Does the explanation reflect the model?",
        "### What the controls score",
        "### Every localisation score beside the controls",
        "### Faithfulness: does the model use what the map highlights?",
        "### Repeatability and reproducibility",
        "### Sanity tests",
        "### One verdict per lesion",
    ):
        assert heading in report
    assert report.index("## Findings") < report.index("## Table I.")
    results = json.loads((folder / "results.json").read_text())
    stats = json.loads((folder / "statistics.json").read_text())
    assert len(stats["comparisons"]) == 1 and stats["bootstrap"]["resamples"] == 1000
    controls = {"constant", "centre", "intensity", "edges", "random"}
    for r in results:
        loc = r["localisation"]
        assert loc["baseline"] == "random" and set(loc["controls"]) == controls
        assert set(loc["explainers"]) == {"gradcam-batched", "gradcam"} | controls
        batched, reference = loc["explainers"]["gradcam-batched"], loc["explainers"]["gradcam"]
        assert batched["patch_index"] == reference["patch_index"]
        assert all(loc["explainers"][c]["patch_index"] == batched["patch_index"] for c in controls)  # same patches
        assert (
            max(abs(a - b) for a, b in zip(batched["scores"], reference["scores"], strict=True)) < 0.02
        )  # maps within 1e-3
        assert set(batched["metrics"]) == {
            "iou-sweep",
            "pointing-game",
            "energy-pointing-game",
            "relevance-mass",
            "relevance-rank",
            "iou@otsu",
            "iou@validation",
        }
        assert batched["validation"]["chosen"] in batched["curve"]["thresholds"]
        faith = r["faithfulness"]  # every faithfulness metric's scores of every explainer and control
        assert set(faith["explainers"]) == {"gradcam-batched", "gradcam"} | controls
        assert {m.split("[")[0] for m in faith["metrics"]} == {
            "road-morf",
            "road-lerf",
            "road-combined",
            "deletion",
            "insertion",
        }
        assert all(
            len(s["scores"]) == len(faith["patch_index"]) for e in faith["explainers"].values() for s in e.values()
        )
        assert {t["name"] for t in r["sanity"]["tests"]} == {"top-down", "bottom-up", "independent", "random-logit"}
        assert set(r["verdicts"]["explainers"]) == {"gradcam-batched", "gradcam"}
        entry = stats["runs"][r["run_id"]]["localisation"]["gradcam-batched"]["iou"]
        assert entry["control"] in controls and entry["control_score"] == pytest.approx(
            max(loc["explainers"][c]["ll"] for c in controls), abs=1e-6
        )  # per-patch scores are stored to 6 places
        accuracy = stats["runs"][r["run_id"]]["accuracy"]
        assert accuracy["low"] <= r["test"]["accuracy"] <= accuracy["high"]
    table_iv = report[report.index("## Table IV.") : report.index("## LL under each threshold rule")]
    for r in results:  # Table IV names the strongest control beside each LL
        control = stats["runs"][r["run_id"]]["localisation"]["gradcam-batched"]["iou"]["control"]
        row = next(line for line in table_iv.splitlines() if r["run_id"] in line and "gradcam-batched" in line)
        assert f"| {control} " in row
    links = re.findall(r"!\[[^]]*\]\(([^)]+\.png)\)", report)
    # per run: confusion, ROC, training, LL against threshold, two galleries, ROAD curves, two verdict galleries;
    # and one run x run agreement heatmap
    assert len(links) == len(results) * 9 + 1
    for link in links:
        with Image.open(folder / link) as image:
            pixels = np.asarray(image.convert("L"))
        assert min(pixels.shape) > 200 and pixels.std() > 10  # drawn, not blank


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


def test_a_second_run_from_scratch_on_ray_is_identical(first_run: Path, tmp_path: Path) -> None:
    """The spec again from an empty store, each run a task on a local Ray instance (2 CPUs):
    the same results as the session's local run, bit for bit apart from what is measured.
    One run proves both that a run from scratch repeats and that the Ray executor changes
    nothing; where Ray is not installed the second run is local (repetition still tested)."""
    executor = ["--executor", "ray"] if importlib.util.find_spec("ray") else []
    result = run_cli("run", SPEC, *executor, "--home", str(tmp_path / "home"), "--reports", str(tmp_path / "reports"))
    assert result.code == 0, result.output
    assert result.stdout.count("done: ") == 2 or not executor
    a = json.loads((first_run / "reports" / "fixture" / "results.json").read_text())
    b = json.loads((tmp_path / "reports" / "fixture" / "results.json").read_text())
    assert _without_measurements(a) == _without_measurements(b)
