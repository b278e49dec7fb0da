"""Hyperparameter selection as the study did it: the best validation score of each cell
is kept for Tables II-IV, test numbers decide nothing, every run stays in the appendix."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from benchmark.run.config import expand
from benchmark.run.result import RunResult
from benchmark.selection import select
from benchmark.spec.loader import parse_spec
from benchmark.spec.schema import Select
from tests.conftest import ROOT, run_cli
from tests.factories import lean, run_result

pytestmark = pytest.mark.slow


def _spec(**changes):
    data = lean(yaml.safe_load((ROOT / "specs" / "fixture.yaml").read_text()))
    data["matrix"]["hparams"] = [
        {"batch_size": 16, "lr_head": 3e-3, "lr_last_block": 1e-3},
        {"batch_size": 8, "lr_head": 3e-3, "lr_last_block": 1e-3},
    ]
    data["matrix"]["seed"] = [0, 1]
    for key, value in changes.items():
        data[key] = value
    return data


def _result(val_loss: float, val_acc: float, test_acc: float) -> RunResult:
    epoch = {
        "epoch": 3,
        "phase": "p",
        "phase_index": 0,
        "phase_epoch": 3,
        "train_loss": 1.0,
        "train_accuracy": 0.5,
        "val_loss": val_loss,
        "val_accuracy": val_acc,
        "learning_rates": {},
        "improved": True,
    }
    return run_result(accuracy=test_acc, training={"best_val_loss": val_loss, "best_epoch": 3, "history": [epoch]})


def test_the_best_mean_validation_score_of_each_cell_is_kept_whatever_the_test_says() -> None:
    spec = parse_spec(_spec(), check_plugins=False)
    runs = expand(spec)  # 2 strategies x 2 sets x 2 seeds
    losses = {
        ("simultaneous", 16): (0.9, 0.5),
        ("simultaneous", 8): (0.7, 0.8),  # means 0.7 vs 0.75
        ("gradual-unfreezing", 16): (0.6, 0.6),
        ("gradual-unfreezing", 8): (0.61, 0.62),
    }
    results = {}
    for run in runs:
        loss = losses[(run.strategy, run.hparams.batch_size)][run.seed]
        results[run.run_id] = _result(loss, 1 - loss, test_acc=1.0 if run.hparams.batch_size == 8 else 0.0)
    selection = select(runs, results, Select(by="val_loss", within=["backbone", "strategy"]))
    kept = {(r.strategy, r.hparams.batch_size, r.seed) for r in runs if r.run_id in selection.kept()}
    assert kept == {
        ("simultaneous", 16, 0),
        ("simultaneous", 16, 1),
        ("gradual-unfreezing", 16, 0),
        ("gradual-unfreezing", 16, 1),
    }
    assert [c.values for c in selection.cells] == [
        {"backbone": "timm/test_resnet", "strategy": "simultaneous"},
        {"backbone": "timm/test_resnet", "strategy": "gradual-unfreezing"},
    ]
    by_accuracy = select(runs, results, Select(by="val_accuracy", within=["backbone", "strategy"]))
    assert by_accuracy.kept() == selection.kept()  # here accuracy is 1 - loss: the same choice
    across = select(runs, results, Select(by="val_loss", within=["backbone"]))  # strategy competes too
    assert {(r.strategy, r.hparams.batch_size) for r in runs if r.run_id in across.kept()} == {
        ("gradual-unfreezing", 16)
    }
    partial = select(runs, {k: v for k, v in results.items() if "bs8" not in k}, Select())
    assert all(c.chosen is None or c.chosen.finished for c in partial.cells)


def test_validate_lists_the_six_sets_of_every_cell_of_the_paper_spec() -> None:
    result = run_cli("validate", str(ROOT / "specs" / "paper.yaml"), env={"CBIS_DDSM_ROOT": "/nonexistent"})
    assert result.code == 0, result.output
    assert "48 run(s)" in result.stdout
    assert "in each of 8 cell(s) (backbone, strategy)" in result.stdout and "best val loss" in result.stdout
    assert result.stdout.count(" 6 ") >= 8  # six candidates per cell
    assert "bs32 lr0.0001/0.0003 decay0.1" in result.stdout  # the ResNet50-simultaneous override, in every set


def test_a_spec_with_selection_and_ablation_axes_reports_them(tmp_path: Path) -> None:
    data = _spec(select={"by": "val_loss", "within": ["backbone", "strategy", "normaliser", "patches"]})
    data["matrix"].update(
        {
            "strategy": ["simultaneous"],
            "seed": [0],
            "normaliser": ["dataset", "imagenet"],
            "patches": [{"lesion_margin": 0.5}, {"lesion_margin": 0.0}],
        }
    )
    del data["normaliser"]
    data["training"]["max_epochs"] = 2
    data["dataset"]["options"]["images"] = 60
    data["explain"]["sanity"] = {"enabled": False}
    data["explain"]["explainers"] = ["gradcam-batched"]
    spec = tmp_path / "select.yaml"
    spec.write_text(yaml.safe_dump(data))
    ran = run_cli("run", str(spec), "--home", str(tmp_path / "home"), "--reports", str(tmp_path / "reports"))
    assert ran.code == 0, ran.output
    folder = tmp_path / "reports" / "fixture"
    report = (folder / "report.md").read_text()
    assert "Hyperparameter selection by val loss within backbone, strategy, normaliser, patches" in report
    assert "## Appendix: every run and the hyperparameter selection" in report
    appendix = report.split("## Appendix")[1].split("\n## ")[0]
    assert appendix.count("**kept**") == 4 and appendix.count("| bs") == 8
    costs = report.split("## What the study's choices cost")[1].split("\n## ")[0]
    assert "### Normalisation" in costs and "### Patch cutting (lesion box, context)" in costs
    assert "lesion_margin=0.0" in costs and "lesion_margin=0.5" in costs
    results = json.loads((folder / "results.json").read_text())
    stats = json.loads((folder / "statistics.json").read_text())
    assert len(results) == 8 and len(stats["runs"]) == 4  # every run stored, the kept ones analysed
    margins = {r["data"]["variant"]: r["data"]["counts"] for r in results}
    assert set(margins) == {"lesion_margin=0.5", "lesion_margin=0.0"}  # two patch sets, prepared once each
    table = pd.read_csv(folder / "results.csv")
    assert len(table) == 8 and table["selected"].sum() == 4
    assert sorted(table.loc[table["selected"], "normaliser"]) == ["dataset", "dataset", "imagenet", "imagenet"]
