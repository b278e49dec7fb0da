"""Faults and second processes: no input, fault or concurrent run makes a result wrong,
loses finished work or prints a traceback for a user's mistake (docs/reliability.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import CLI, ROOT, run_cli
from tests.factories import lean

FIXTURE = yaml.safe_load((ROOT / "specs" / "fixture.yaml").read_text())


def _spec(tmp_path: Path, name: str = "faults", **training: object) -> tuple[Path, dict]:
    """A small fixture spec: one strategy, two epochs, the lean evaluation."""
    data = lean(FIXTURE, explainers=["gradcam-batched"], gallery=1)
    data["name"] = name
    data["dataset"]["options"]["images"] = 60
    data["matrix"]["strategy"] = ["simultaneous"]
    data["training"] |= {"max_epochs": 2, **training}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, data


def _results(reports: Path, name: str) -> list[dict]:
    results = json.loads((reports / name / "results.json").read_text())
    return [{k: v for k, v in r.items() if k != "measurements"} for r in results]


def _leftovers(folder: Path) -> list[Path]:
    """Temporary files or folders a writer left behind."""
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp") or ".partial" in p.name]


# --------------------------------------------------------------------------- two processes, one home
@pytest.mark.slow
def test_two_runs_on_one_home_give_the_single_run_results(tmp_path: Path) -> None:
    spec, data = _spec(tmp_path)
    data["matrix"]["strategy"] = ["simultaneous", "gradual-unfreezing"]
    data["dataset"]["options"]["images"] = 30  # four trainings in two processes on two cores
    spec.write_text(yaml.safe_dump(data))
    env = os.environ | {"NO_COLOR": "1", "COLUMNS": "200"}
    home = tmp_path / "shared-home"
    procs = [
        subprocess.Popen(
            [*CLI, "run", str(spec), "--home", str(home), "--reports", str(tmp_path / f"r{i}")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (1, 2)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
        assert "Traceback" not in err
    single = run_cli("run", str(spec), "--home", str(tmp_path / "alone"), "--reports", str(tmp_path / "r0"))
    assert single.code == 0, single.output
    expected = _results(tmp_path / "r0", "faults")
    assert _results(tmp_path / "r1", "faults") == expected == _results(tmp_path / "r2", "faults")
    runs = list((home / "runs" / "faults").glob("*/result.json"))
    assert len(runs) == 2 and not _leftovers(home)


# --------------------------------------------------------------------------- bad specs
BAD_SPECS = [
    (
        "min_delta .inf",
        lambda d: d["training"]["early_stopping"].update(min_delta=float("inf")),
        "training.early_stopping.min_delta: Input should be a finite number",
    ),
    (
        "lr_head 1e300",
        lambda d: d["matrix"]["hparams"][0].update(lr_head=1e300),
        "matrix.hparams[0].lr_head: Input should be less than or equal to 1",
    ),
    ("seed 1e23", lambda d: d["matrix"].update(seed=[1e23]), "matrix.seed[0]:"),
    (
        "negative seed",
        lambda d: d["matrix"].update(seed=[-1]),
        "matrix.seed[0]: Input should be greater than or equal to 0",
    ),
    (
        "override selecting no run",
        lambda d: d["matrix"].update(overrides=[{"match": {"backbone": "resnet50"}, "set": {"lr_head": 1e-3}}]),
        "matrix.overrides[0].match.backbone: selects no run: 'resnet50' is not in matrix.backbone",
    ),
    (
        "override giving an invalid set",
        lambda d: d["matrix"].update(overrides=[{"match": {"strategy": "simultaneous"}, "set": {"lr_head": 5}}]),
        "matrix.overrides[0].set.lr_head: Input should be less than or equal to 1",
    ),
    ("huge max_epochs", lambda d: d["training"].update(max_epochs=10**9), "training.max_epochs"),
    (
        "exclude matching no run",  # a typo left in every run it meant to leave out, silently
        lambda d: d["matrix"].update(exclude=[{"strategy": "simultaneous"}, {"backbone": "timm/test_resnett"}]),
        "matrix.exclude[1].backbone: excludes no run: 'timm/test_resnett' is not in matrix.backbone (timm/test_resnet)",
    ),
    (
        "exclude naming an absent normaliser",
        lambda d: d["matrix"].update(exclude=[{"normaliser": "imagenett"}]),
        "matrix.exclude[0].normaliser: excludes no run: 'imagenett' is not in normaliser (dataset)",
    ),
]


@pytest.mark.parametrize(("case", "change", "expected"), BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_a_bad_value_is_one_message_naming_field_and_line(tmp_path: Path, case: str, change, expected: str) -> None:
    data = json.loads(json.dumps(FIXTURE))
    change(data)
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump(data))
    for command in ("validate", "run"):
        result = (
            run_cli(command, str(spec), "--home", str(tmp_path / "home"))
            if command == "run"
            else run_cli(command, str(spec))
        )
        assert result.code == 2, result.output
        assert expected in result.stderr and "line " in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "home").exists()  # refused before any work


def test_duplicate_keys_and_non_utf8_specs_are_refused(tmp_path: Path) -> None:
    text = (ROOT / "specs" / "fixture.yaml").read_text()
    duplicated = tmp_path / "dup.yaml"
    duplicated.write_text(text.replace("  max_epochs: 12\n", "  max_epochs: 12\n  max_epochs: 3\n"))
    result = run_cli("validate", str(duplicated))
    assert result.code == 2 and "key 'max_epochs' given twice in one mapping" in result.stderr
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(text.replace("Regression fixture", "Régression fixture").encode("latin-1"))
    result = run_cli("validate", str(latin1))
    assert result.code == 2 and "not UTF-8 text (byte 0xe9)" in result.stderr and "Traceback" not in result.output


def test_background_larger_than_every_image_stops_before_training(tmp_path: Path) -> None:
    spec, data = _spec(tmp_path)
    data["dataset"]["patches"]["background_size"] = 1000
    spec.write_text(yaml.safe_dump(data))
    result = run_cli("run", str(spec), "--home", str(tmp_path / "home"))
    assert result.code == 2, result.output
    assert "dataset.patches.background_size: 1000 pixels is larger than every one of the" in result.stderr
    assert not list((tmp_path / "home").glob("runs/trained/*.pt"))


def test_a_validation_fraction_the_data_cannot_honour_is_said_at_run_time(tmp_path: Path) -> None:
    spec, data = _spec(tmp_path)
    data["dataset"]["options"]["images"] = 12
    spec.write_text(yaml.safe_dump(data))
    result = run_cli("prepare", str(spec), "--home", str(tmp_path / "home"))
    assert result.code == 0, result.output
    assert "warning: dataset.validation.fraction: 0.15 asked, but" in result.stdout


# --------------------------------------------------------------------------- finished work is kept
FAULTY_PLUGIN = '''
import os
import numpy as np
from benchmark.api import hookimpl


class Faulty:
    """Maps that are NaN while FAULTY=1 (a plugin bug), a centred blob otherwise."""

    def __init__(self, backbone):
        pass

    def __call__(self, images, targets):
        n, _, h, w = images.shape
        if os.environ.get("FAULTY") == "1":
            return np.full((n, h, w), np.nan, np.float32)
        yy, xx = np.mgrid[:h, :w]
        blob = np.exp(-((yy - h / 2) ** 2 + (xx - w / 2) ** 2) / (2 * (h / 4) ** 2)).astype(np.float32)
        return np.repeat(blob[None], n, axis=0)


@hookimpl
def register_explainers(register):
    register("faulty", Faulty)
'''


@pytest.mark.slow
def test_an_evaluation_error_keeps_the_training_and_the_next_run_only_evaluates(tmp_path: Path) -> None:
    (tmp_path / "plugins_here").mkdir()
    (tmp_path / "plugins_here" / "faulty_explainer.py").write_text(FAULTY_PLUGIN)
    spec, data = _spec(tmp_path)
    data["explain"]["explainers"] = ["faulty"]
    data["plugins"] = ["faulty_explainer"]
    spec.write_text(yaml.safe_dump(data))
    env = {"PYTHONPATH": str(tmp_path / "plugins_here")}
    home = tmp_path / "home"

    failed = run_cli("run", str(spec), "--home", str(home), env=env | {"FAULTY": "1"})
    assert failed.code == 1, failed.output
    assert "evaluation failed" in failed.stderr and "outside [0, 1] (or not finite)" in failed.stderr
    assert "Its training is kept" in failed.output or "their training is kept" in failed.output
    assert "Traceback" not in failed.output
    (run_dir,) = [d for d in (home / "runs" / "faults").iterdir() if d.is_dir()]
    (trained,) = (home / "runs" / "trained").glob("*.pt")
    assert not (run_dir / "result.json").exists()
    assert json.loads((run_dir / "error.json").read_text())["stage"] == "evaluation"

    again = run_cli("run", str(spec), "--home", str(home), "--reports", str(tmp_path / "reports"), env=env)
    assert again.code == 0, again.output
    assert "trained earlier" in again.stdout and "evaluating only" in again.stdout
    assert (run_dir / "result.json").exists() and trained.exists()  # the trained weights stay for later evaluations
    assert not (run_dir / "error.json").exists()
    straight = run_cli(
        "run", str(spec), "--home", str(tmp_path / "straight"), "--reports", str(tmp_path / "r2"), env=env
    )
    assert straight.code == 0, straight.output
    assert _results(tmp_path / "reports", "faults") == _results(tmp_path / "r2", "faults")


class _Evil:
    """A pickle that runs code when loaded without weights_only."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_checkpoint_that_would_run_code_is_never_loaded(tmp_path: Path) -> None:
    from benchmark.training import checkpoint

    marker = tmp_path / "code-ran"
    path = tmp_path / "checkpoint.pt"
    torch.save({"phase_index": 0, "payload": _Evil(marker)}, path)
    with pytest.raises(Exception):  # noqa: B017 (what an unsafe load would have done: any error refuses it)
        torch.load(path, weights_only=True)
    assert checkpoint.load(path) is None and not marker.exists()
    torch.load(path, weights_only=False)  # the old behaviour, for contrast
    assert marker.exists()


def test_checkpoints_hold_tensors_and_plain_data_only(tmp_path: Path) -> None:
    from benchmark.training import checkpoint
    from benchmark.training.epoch import Epoch
    from benchmark.training.loop import FitResult

    epoch = Epoch(
        epoch=1,
        phase="p",
        phase_index=0,
        phase_epoch=1,
        train_loss=1.0,
        train_accuracy=0.5,
        val_loss=0.9,
        val_accuracy=0.4,
        learning_rates={"head": 1e-3},
        improved=True,
        waited=0,
    )
    fit = FitResult([epoch], 1, 0.9, [1])
    path = tmp_path / "ckpt.pt"
    checkpoint.save(
        path,
        {
            "phase_index": 1,
            "phase_epoch": 0,
            "model": {"w": torch.ones(2)},
            "result": fit.to_dict(),
            "rng": checkpoint.rng_state(torch.Generator().manual_seed(0)),
        },
    )
    loaded = checkpoint.load(path)  # weights_only=True: it would be None if anything but tensors and plain data
    assert loaded is not None and FitResult.from_dict(loaded["result"]) == fit


# --------------------------------------------------------------------------- a full disk
def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    except OSError:
        return False
    return done.returncode == 0


@pytest.mark.slow
def test_a_full_disk_leaves_no_partial_file_and_the_run_resumes_after(tmp_path: Path) -> None:
    mount = tmp_path / "small-disk"
    if sys.platform != "linux" or os.geteuid() != 0 or not _mount_tmpfs(mount, "96m"):
        pytest.skip("needs root to mount a small tmpfs (CI runs as root)")
    try:
        spec, _ = _spec(tmp_path)
        home = mount / "home"
        prepared = run_cli("prepare", str(spec), "--home", str(home))
        assert prepared.code == 0, prepared.output
        stats = os.statvfs(mount)
        filler = mount / "filler"
        filler.write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - 64 * 1024))  # 64 KiB left

        full = run_cli("run", str(spec), "--home", str(home), "--reports", str(mount / "reports"))
        assert full.code == 2, full.output
        assert "No space left on device" in full.stderr and "Nothing half-written was kept" in full.stderr
        assert "Traceback" not in full.output
        assert not _leftovers(mount) and not list(home.glob("runs/*/*/result.json"))

        filler.unlink()
        again = run_cli("run", str(spec), "--home", str(home), "--reports", str(mount / "reports"))
        assert again.code == 0, again.output
        straight = run_cli("run", str(spec), "--home", str(tmp_path / "straight"), "--reports", str(tmp_path / "r"))
        assert straight.code == 0
        assert _results(mount / "reports", "faults") == _results(tmp_path / "r", "faults")
        assert not _leftovers(mount)
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


# --------------------------------------------------------------------------- a damaged patch cache
DAMAGE = {
    "pixels changed in place": lambda entry: _flip_pixels(entry / "images.npy"),
    "images.npy truncated": lambda entry: (entry / "images.npy").write_bytes((entry / "images.npy").read_bytes()[:500]),
    "audit.json missing": lambda entry: (entry / "audit.json").unlink(),
}


def _flip_pixels(path: Path) -> None:
    import numpy as np

    images = np.load(path, mmap_mode="r+")
    images[0] = 255 - images[0]
    images.flush()


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_cache_entry_is_prepared_again_and_finished_runs_stay(tmp_path: Path, damage: str) -> None:
    """Issue 24 (5, 9): an entry is checked against the content hash it was stored with (and
    read whole) before use; a damaged one is a warning naming it and a re-preparation, and
    the finished run it fed is still done (before: 'from the cache', a retrain on the
    changed pixels over the finished result, or a traceback)."""
    spec, data = _spec(tmp_path)
    data["dataset"]["options"]["images"] = 30
    spec.write_text(yaml.safe_dump(data))
    home = tmp_path / "home"
    first = run_cli("run", str(spec), "--home", str(home))
    assert first.code == 0, first.output
    (result,) = home.glob("runs/faults/*/result.json")
    before = result.read_text()
    (entry,) = (p for p in (home / "cache" / "patches").iterdir() if (p / "manifest.csv").exists())
    DAMAGE[damage](entry)
    again = run_cli("run", str(spec), "--home", str(home))
    assert again.code == 0, again.output
    assert f"patch cache entry {entry} is damaged" in again.output and "prepared again" in again.output
    assert "already done" in again.output and "Traceback" not in again.output
    assert result.read_text() == before  # the finished run is untouched
    third = run_cli("run", str(spec), "--home", str(home))
    assert "(from the cache)" in third.output and "damaged" not in third.output  # the entry is whole again


def test_sigterm_while_a_fixture_tree_is_written_leaves_no_partial_tree(tmp_path: Path) -> None:
    """Issue 24 (smaller): SIGTERM (a container stopped, a scheduler's limit) is handled as
    Ctrl-C, so the half-written ``DIR.partial-*`` tree is removed and the message says so;
    before, it stayed behind and nothing removed it. A real process: the signal is the point."""
    import signal
    import time

    target = tmp_path / "tree"
    proc = subprocess.Popen(
        [*CLI, "fixture", str(target), "--images", "3000"],
        cwd=ROOT,
        env=os.environ | {"NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if [p for p in tmp_path.iterdir() if ".partial-" in p.name and (p / "jpeg").is_dir()]:
            time.sleep(0.5)  # some images written
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the tree was written before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name] and not target.exists()
