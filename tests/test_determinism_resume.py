"""Deterministic by default: a CPU run repeated gives bit-identical weights and
predictions; a run killed mid-training resumes from its checkpoint and ends with the
same weights as one never stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from benchmark.data.preparation import prepare
from benchmark.data.splits import assign_validation
from benchmark.registry.loading import registries
from benchmark.run.config import expand
from benchmark.run.execute import weights_hash
from benchmark.spec.loader import parse_spec
from benchmark.training.session import train_run
from plugins.datasets.cbis_ddsm import CbisDdsm
from tests.conftest import CLI, ROOT, run_cli
from tests.factories import LEAN_EXPLAIN

SPEC = {
    "name": "determinism",
    "dataset": {
        "plugin": "synthetic-cbis-ddsm",
        "options": {"images": 30},
        "patches": {"size": 32, "background_size": 48, "background_per_image": 1},
    },
    "normaliser": "dataset",
    "matrix": {
        "backbone": ["timm/test_resnet"],
        "strategy": ["gradual-unfreezing"],
        "hparams": [{"batch_size": 8, "lr_head": 3e-3, "lr_last_block": 1e-3}],
    },
    "training": {
        "pretrained": False,
        "max_epochs": 3,
        "device": "cpu",
        "augment": ["hflip", "rot90"],
        "early_stopping": {"patience": 10, "min_delta": 0.0},
    },
    "explain": {"explainers": ["gradcam"]} | LEAN_EXPLAIN,
}


@pytest.fixture(scope="module")
def patches(small_tree: Path, tmp_path_factory: pytest.TempPathFactory):
    ds = CbisDdsm({"root": str(small_tree)}, cache_dir=tmp_path_factory.mktemp("cache"))
    spec = parse_spec(SPEC)
    patchset, _ = prepare(ds, ds.catalogue(), spec.dataset.patches, tmp_path_factory.mktemp("cache2"))
    split, _ = assign_validation(patchset.table, spec.dataset.validation)
    return np.asarray(patchset.images), patchset.table["label"].to_numpy(), split.to_numpy().astype(str)


def _train(patches, checkpoint: Path | None = None, on_epoch=None, **training):
    spec = parse_spec(SPEC | {"training": SPEC["training"] | training})
    (run,) = expand(spec)
    images, labels, split = patches
    return train_run(run, images, labels, split, registries(), checkpoint, on_epoch=on_epoch, checkpoint_every_s=0)


def test_cpu_run_repeated_is_bit_identical(patches) -> None:
    a, b = _train(patches), _train(patches)
    assert weights_hash(a.backbone.model) == weights_hash(b.backbone.model)
    assert [h.val_loss for h in a.fit.history] == [h.val_loss for h in b.fit.history]
    with torch.no_grad():
        x = torch.rand(4, 3, 32, 32)
        a.backbone.model.eval(), b.backbone.model.eval()
        assert torch.equal(a.backbone.model(x), b.backbone.model(x))
    assert a.determinism["deterministic"] is True


def test_opting_out_is_recorded(patches) -> None:
    trained = _train(patches, deterministic=False, max_epochs=1)
    assert trained.determinism["deterministic"] is False
    torch.use_deterministic_algorithms(True)  # leave the process as the other tests expect


class _Killed(Exception):
    pass


def test_interrupted_training_resumes_to_the_same_weights(patches, tmp_path: Path) -> None:
    straight = _train(patches)
    ckpt = tmp_path / "checkpoint.pt"

    def die_after_four(record, _max):
        if record.epoch == 4:  # in the middle of the second phase
            raise _Killed

    with pytest.raises(_Killed):
        _train(patches, checkpoint=ckpt, on_epoch=die_after_four)
    assert ckpt.exists()
    resumed = _train(patches, checkpoint=ckpt)
    assert weights_hash(resumed.backbone.model) == weights_hash(straight.backbone.model)
    assert [h.epoch for h in resumed.fit.history] == [h.epoch for h in straight.fit.history]
    assert resumed.fit.best_epoch == straight.fit.best_epoch


@pytest.mark.slow
def test_killed_cli_run_resumes_when_run_again(tmp_path: Path) -> None:
    spec_data = SPEC | {"training": SPEC["training"] | {"max_epochs": 16}}
    spec_data["matrix"] = SPEC["matrix"] | {"strategy": ["simultaneous"]}
    spec = tmp_path / "resume.yaml"
    spec.write_text(yaml.safe_dump(spec_data))
    env = os.environ | {"NO_COLOR": "1"}

    def cli(home: str) -> list[str]:
        return [
            *CLI,
            "run",
            str(spec),
            "--home",
            str(tmp_path / home),
            "--reports",
            str(tmp_path / home / "reports"),
            "--checkpoint-every",
            "0",
        ]

    proc = subprocess.Popen(cli("killed"), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = tmp_path / "killed" / "runs" / "determinism"
    trained = tmp_path / "killed" / "runs" / "trained"
    deadline = time.monotonic() + 300
    checkpoint, first_write = None, None
    while time.monotonic() < deadline and proc.poll() is None:  # kill once the second checkpoint is written
        found = list(trained.glob("*.pt"))
        if found:
            written = os.stat(found[0]).st_mtime_ns
            if first_write is not None and written != first_write:
                checkpoint = found[0]
                break
            first_write = first_write or written
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert checkpoint is not None and checkpoint.exists()
    assert not list(run_dir.glob("*/result.json"))

    # the killed process is the point; resuming and the straight run need no process of their own
    resumed = run_cli(*cli("killed")[len(CLI) :])
    assert resumed.code == 0, resumed.output
    assert "resuming run" in resumed.stdout and "from epoch" in resumed.stdout
    straight = run_cli(*cli("straight")[len(CLI) :])
    assert straight.code == 0, straight.output
    a = json.loads(next(run_dir.glob("*/result.json")).read_text())
    b = json.loads(next((tmp_path / "straight" / "runs" / "determinism").glob("*/result.json")).read_text())
    assert a["model"]["weights_hash"] == b["model"]["weights_hash"]
    assert a["fingerprint"] == b["fingerprint"]
    from benchmark.training import checkpoint as checkpoints

    kept = checkpoints.load(checkpoint)  # kept as the trained weights: the training state is gone
    assert kept is not None and kept["finished"] and "optimizer" not in kept
