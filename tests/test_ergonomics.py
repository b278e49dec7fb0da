"""Researcher ergonomics, tried as a user would from the command line: ``--set``
overrides, ``runs`` (states, pruning), a report over several specs, and the MLflow and
TensorBoard loggers read back with their own readers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import CLI, ROOT, run_cli
from tests.factories import LEAN_EXPLAIN

SPEC = {
    "name": "tiny",
    "description": "two epochs of a tiny network",
    "dataset": {
        "plugin": "synthetic-cbis-ddsm",
        "options": {"images": 30},
        "patches": {"size": 32, "background_size": 48, "background_per_image": 1},
    },
    "normaliser": "dataset",
    "matrix": {
        "backbone": ["timm/test_resnet"],
        "strategy": ["simultaneous"],
        "hparams": [{"batch_size": 8, "lr_head": 3e-3, "lr_last_block": 1e-3}],
    },
    "training": {"pretrained": False, "max_epochs": 2, "device": "cpu"},
    "explain": {"explainers": ["gradcam"], "gallery": 1} | LEAN_EXPLAIN,
}


def write_spec(folder: Path, name: str = "tiny", **changes) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(SPEC | {"name": name} | changes))
    return path


def results(home: Path, spec: str) -> dict[str, dict]:
    """run id -> stored result of every finished run of ``spec``."""
    return {p.parent.name: json.loads(p.read_text()) for p in (home / "runs" / spec).glob("*/result.json")}


def run(spec: Path, home: Path, *args: str) -> str:
    done = run_cli("run", str(spec), "--home", str(home), "--reports", str(home / "reports"), *args)
    assert done.code == 0, done.output
    return done.output


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny spec run once, with both loggers."""
    base = tmp_path_factory.mktemp("ergonomics")
    spec = write_spec(base, loggers=["tensorboard", "mlflow"])
    out = run(spec, base / "home")
    assert "runs sent to the loggers: tensorboard 1, mlflow 1" in out
    return spec, base / "home"


# ----------------------------------------------------------------------------- --set


def test_bad_overrides_exit_2_naming_the_key(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    typo = run_cli("validate", str(spec), "--set", "training.max_epoch=3")
    assert typo.code == 2 and "training.max_epoch" in typo.output and "max_epochs" in typo.output, typo.output
    assert "Traceback" not in typo.output
    wrong = run_cli("run", str(spec), "--home", str(tmp_path / "h"), "--set", "training.max_epochs=many")
    assert wrong.code == 2 and "training.max_epochs" in wrong.output and "--set" in wrong.output, wrong.output
    assert not (tmp_path / "h" / "runs").exists()  # nothing started
    malformed = run_cli("validate", str(spec), "--set", "training.max_epochs")
    assert malformed.code == 2 and "KEY=VALUE" in malformed.output


def test_validate_show_prints_the_resolved_spec(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    shown = run_cli("validate", str(spec), "--show", "--set", "training.max_epochs=7", "--set", "matrix.seed=[3, 4]")
    assert shown.code == 0, shown.output
    resolved = yaml.safe_load(shown.stdout.split("\nvalid: ")[0])  # the YAML, then the usual summary
    assert resolved["training"]["max_epochs"] == 7 and resolved["matrix"]["seed"] == [3, 4]


@pytest.mark.slow
def test_an_override_changes_the_run_id_and_the_result(tiny_home: tuple[Path, Path], tmp_path: Path) -> None:
    spec, home = tiny_home
    before = results(home, "tiny")
    run(spec, tmp_path / "home", "--set", "matrix.hparams[0].lr_head=0.01")
    after = results(tmp_path / "home", "tiny")
    (old_id, old), (new_id, new) = next(iter(before.items())), next(iter(after.items()))
    assert old_id != new_id
    assert new["config"]["hparams"]["lr_head"] == 0.01 and old["config"]["hparams"]["lr_head"] == 0.003
    assert new["model"]["weights_hash"] != old["model"]["weights_hash"]
    report = (tmp_path / "home" / "reports" / "tiny" / "report.md").read_text()
    assert "- `--set` overrides of tiny: `matrix.hparams[0].lr_head=0.01`" in report  # the report says what changed
    # the same value written in the file gives the same run: the override is part of the spec, nothing else
    edited = SPEC | {"matrix": SPEC["matrix"] | {"hparams": [SPEC["matrix"]["hparams"][0] | {"lr_head": 0.01}]}}
    (tmp_path / "edited").mkdir()
    edited_spec = tmp_path / "edited" / "tiny.yaml"
    edited_spec.write_text(yaml.safe_dump(edited))
    out = run(edited_spec, tmp_path / "home")
    assert "already done" in out


def test_device_and_max_epochs_are_set_overrides_the_report_lists(tmp_path: Path) -> None:
    """``--device`` and ``--max-epochs`` are short for ``--set``: the report made with them
    beside a ``--set`` lists all three, and the run is the one the same ``--set`` gives."""
    spec = write_spec(tmp_path)
    run(spec, tmp_path / "home", "--set", "matrix.seed=[5]", "--device", "cpu", "--max-epochs", "1")
    report = (tmp_path / "home" / "reports" / "tiny" / "report.md").read_text()
    assert "- `--set` overrides of tiny: `matrix.seed=[5]`, `training.device=cpu`, `training.max_epochs=1`" in report, (
        report[report.index("## Provenance") :]
    )
    (stored,) = results(tmp_path / "home", "tiny").values()
    assert stored["training"]["best_epoch"] <= 1 and stored["config"]["seed"] == 5
    spelled_out = run(
        spec,
        tmp_path / "home",
        "--set",
        "matrix.seed=[5]",
        "--set",
        "training.device=cpu",
        "--set",
        "training.max_epochs=1",
    )
    assert "already done" in spelled_out  # one override mechanism: the same run
    bad = run_cli("run", str(spec), "--home", str(tmp_path / "home"), "--device", "gpu")
    assert bad.code == 2 and "training.device" in bad.stderr and "--set training.device=gpu" in bad.stderr, bad.output


def test_every_caption_states_the_spec_confidence_level(tmp_path: Path) -> None:
    """Issue 24 (4): with report.bootstrap.confidence 0.9 no caption says 95%, and every
    section that shows intervals says 90%: the level of the numbers under it."""
    spec = write_spec(tmp_path, matrix=SPEC["matrix"] | {"seed": [0, 1]}, report={"bootstrap": {"confidence": 0.9}})
    run(spec, tmp_path / "home")
    report = (tmp_path / "home" / "reports" / "tiny" / "report.md").read_text()
    assert "95%" not in report and "95 %" not in report
    for heading in ("## Confidence intervals (90%", "## Table IV.", "## LL under each threshold rule",
                    "## Paired comparisons"):  # fmt: skip
        section = report[report.index(heading) :].split("\n## ")[0]
        assert "90%" in section, heading


def test_two_specs_of_one_name_on_one_home_each_show_their_own_audit(tmp_path: Path) -> None:
    """Issue 24 (1): the preparation audit is kept per patch set, not per spec name: an
    edited copy of a spec (same name, another dataset seed) run on the same home leaves the
    first spec's report with the first spec's audit beside its Table I."""
    first = write_spec(tmp_path)
    (tmp_path / "copy").mkdir()
    edited = write_spec(tmp_path / "copy", dataset=SPEC["dataset"] | {"options": {"images": 30, "seed": 5}})

    def audit(report: Path) -> str:  # the section, its paths written from the home
        text = report.read_text().replace(str(tmp_path / "alone"), "HOME").replace(str(tmp_path / "shared"), "HOME")
        return text[text.index("## Data preparation audit") :].split("\n## ")[0]

    run(first, tmp_path / "alone")
    run(first, tmp_path / "shared")
    run(edited, tmp_path / "shared")
    rebuilt = run_cli("report", str(first), "--home", str(tmp_path / "shared"), "--reports", str(tmp_path / "r"))
    assert rebuilt.code == 0, rebuilt.output
    mine = audit(tmp_path / "alone" / "reports" / "tiny" / "report.md")
    assert audit(tmp_path / "r" / "tiny" / "report.md") == mine
    assert audit(tmp_path / "shared" / "reports" / "tiny" / "report.md") != mine  # the copy's own audit


def test_a_spec_explaining_with_random_alone_says_why_table_iv_is_empty(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, explain=SPEC["explain"] | {"explainers": ["random"]})
    run(spec, tmp_path / "home")
    report = (tmp_path / "home" / "reports" / "tiny" / "report.md").read_text()
    table_iv = report[report.index("## Table IV.") :].split("\n## ")[0]
    assert "**No run has a row:** the spec's explainers (`random`) are all model-free controls" in table_iv


# ----------------------------------------------------------------------------- loggers


@pytest.mark.slow
def test_mlflow_store_holds_the_run_read_back_with_mlflow(tiny_home: tuple[Path, Path]) -> None:
    from mlflow.tracking import MlflowClient

    _, home = tiny_home
    ((run_id, result),) = results(home, "tiny").items()
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=(home / "mlruns").resolve().as_uri())
    experiment = client.get_experiment_by_name("tiny")
    (mlrun,) = client.search_runs([experiment.experiment_id])
    assert mlrun.info.status == "FINISHED"
    assert mlrun.data.tags["cbis_bench.run_id"] == run_id
    assert mlrun.data.metrics["test/accuracy"] == pytest.approx(result["test"]["accuracy"])
    assert mlrun.data.metrics["test/auc_average"] == pytest.approx(result["test"]["auc_average"])
    assert mlrun.data.params["hparams.lr_head"] == "0.003"
    history = client.get_metric_history(mlrun.info.run_id, "val_loss")
    assert [m.step for m in history] == [e["epoch"] for e in result["training"]["history"]]
    assert [m.value for m in history] == pytest.approx([e["val_loss"] for e in result["training"]["history"]])
    artifacts = [a.path for a in client.list_artifacts(mlrun.info.run_id, "figures")]
    assert artifacts, "the run's report figures are artifacts"


@pytest.mark.slow
def test_tensorboard_events_hold_the_run_read_back_with_tensorboard(tiny_home: tuple[Path, Path]) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, home = tiny_home
    ((run_id, result),) = results(home, "tiny").items()
    events = EventAccumulator(str(home / "runs" / "tiny" / run_id / "tensorboard"))
    events.Reload()
    val_loss = events.Scalars("val_loss")
    assert [s.step for s in val_loss] == [e["epoch"] for e in result["training"]["history"]]
    assert [s.value for s in val_loss] == pytest.approx([e["val_loss"] for e in result["training"]["history"]])
    (accuracy,) = events.Scalars("test/accuracy")
    assert accuracy.value == pytest.approx(result["test"]["accuracy"])


@pytest.mark.slow
def test_logging_twice_sends_nothing_and_never_changes_run_ids(tiny_home: tuple[Path, Path], tmp_path: Path) -> None:
    spec, home = tiny_home
    again = run(spec, home)
    assert "already done" in again and "loggers (tensorboard, mlflow): every run was recorded before" in again
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=(home / "mlruns").resolve().as_uri())
    assert len(client.search_runs([client.get_experiment_by_name("tiny").experiment_id])) == 1
    plain = run_cli("validate", str(write_spec(tmp_path)))  # the same spec without loggers
    (logged_id,) = results(home, "tiny")
    assert plain.code == 0 and logged_id in plain.output, plain.output  # the same run: loggers are not in its id


def test_a_missing_extra_exits_2_naming_it(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, loggers=["mlflow"])
    hide = (
        "import importlib.util as u, sys; find = u.find_spec; "
        "u.find_spec = lambda name, *a: None if name == 'mlflow' else find(name, *a); "
        "sys.argv[0] = 'cbis-bench'; from benchmark.cli import main; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", hide, "run", str(spec), "--home", str(tmp_path / "h")],
        cwd=ROOT,
        env=os.environ | {"NO_COLOR": "1", "COLUMNS": "200"},
        capture_output=True,
        text=True,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "pip install 'cbis-bench[mlflow]'" in out and "Traceback" not in out
    assert not list((tmp_path / "h").glob("runs/*/*/result.json"))  # stopped before training


def test_an_unknown_logger_is_named_with_its_place(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, loggers=["tensorbord"])
    done = run_cli("validate", str(spec))
    assert done.code == 2 and "loggers[0]" in done.output and "tensorboard" in done.output, done.output


# ----------------------------------------------------------------------------- report over specs


@pytest.mark.slow
def test_one_report_over_several_specs_pairs_only_same_test_patches(
    tiny_home: tuple[Path, Path], tmp_path: Path
) -> None:
    a, home = tiny_home
    b = write_spec(tmp_path, "tiny-b", matrix=SPEC["matrix"] | {"seed": [1]})  # same patches, another seed
    c = write_spec(
        tmp_path,
        "tiny-c",
        dataset=SPEC["dataset"] | {"patches": SPEC["dataset"]["patches"] | {"size": 40, "background_per_image": 2}},
    )
    for spec in (b, c):
        run(spec, home)
    same = run_cli("report", str(a), str(b), "--home", str(home), "--out", str(tmp_path / "ab"))
    assert same.code == 0, same.output
    text = (tmp_path / "ab" / "report.md").read_text()
    assert "tiny-b" in text and "| tiny " in text and "same test patches (T1)" in text
    assert text.count("## Table I.") == 1  # one patch set, one Table I
    mixed = run_cli("report", str(a), str(c), "--home", str(home), "--out", str(tmp_path / "ac"))
    assert mixed.code == 0, mixed.output
    text = (tmp_path / "ac" / "report.md").read_text()
    assert "2 different test sets" in text and "not paired" in text
    assert "## Table I. Patches per class and split (spec tiny)" in text  # each patch set its own Table I
    assert "## Table I. Patches per class and split (spec tiny-c)" in text


# ----------------------------------------------------------------------------- runs


@pytest.mark.slow
def test_runs_shows_a_run_killed_mid_training_as_interrupted(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path, training=SPEC["training"] | {"max_epochs": 40, "early_stopping": {"patience": 40, "min_delta": 0.0}}
    )
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [*CLI, "run", str(spec), "--home", str(home), "--checkpoint-every", "0"],
        cwd=ROOT,
        env=os.environ | {"NO_COLOR": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    first_write = None
    while time.monotonic() < deadline and proc.poll() is None:  # kill after the second checkpoint
        found = list((home / "runs" / "trained").glob("*.pt"))
        if found:
            written = os.stat(found[0]).st_mtime_ns
            if first_write is not None and written != first_write:
                break
            first_write = first_write or written
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    of_spec = run_cli("runs", str(spec), "--home", str(home))
    assert of_spec.code == 0 and "interrupted at epoch" in of_spec.output, of_spec.output
    anywhere = run_cli("runs", "--home", str(home))  # without the spec: its training is still found
    assert anywhere.code == 0 and "interrupted at epoch" in anywhere.output, anywhere.output


@pytest.mark.slow
def test_runs_lists_states_and_prune_removes_only_after_a_dry_run(tiny_home: tuple[Path, Path], tmp_path: Path) -> None:
    spec, home = tiny_home
    other = write_spec(tmp_path, "other", matrix=SPEC["matrix"] | {"seed": [5]})  # names neither run nor training
    ((run_id, _),) = results(home, "tiny").items()
    listed = run_cli("runs", "--home", str(home))
    assert listed.code == 0 and run_id in listed.output and " done" in listed.output, listed.output
    kept = run_cli("runs", str(spec), "--prune", "--home", str(home))  # the spec names its run: nothing of it goes
    assert kept.code == 0 and run_id not in kept.output, kept.output
    # issue 24: whatever their age, the catalogue, generated tree and patch set the named spec's data came from stay
    now = run_cli("runs", str(spec), "--prune", "--older-than", "0", "--home", str(home))
    assert now.code == 0 and "catalogue" not in now.output and "generated tree" not in now.output, now.output
    own_patches = results(home, "tiny")[run_id]["measurements"]["cache_key"]
    assert own_patches not in now.output and run_id not in now.output, now.output  # other specs' entries may go
    fresh = tmp_path / "no-home-yet"
    listing = run_cli("runs", str(spec), "--home", str(fresh))
    assert listing.code == 0 and "not started" in listing.output and not fresh.exists()  # a listing writes nothing
    changed = run_cli("runs", str(spec), "--set", "training.max_epochs=7", "--prune", "--home", str(home))
    assert changed.code == 0 and run_id in changed.output, changed.output  # --set names other runs: this one is listed
    dry = run_cli("runs", str(other), "--prune", "--older-than", "0", "--home", str(home))
    assert dry.code == 0 and run_id in dry.output and "dry run" in dry.output, dry.output
    assert (home / "runs" / "tiny" / run_id / "result.json").exists()
    gone = run_cli("runs", str(other), "--prune", "--older-than", "0", "--yes", "--home", str(home))
    assert gone.code == 0 and "removed" in gone.output, gone.output
    assert not (home / "runs" / "tiny" / run_id).exists()
    assert run_id not in run_cli("runs", "--home", str(home)).output
