"""Checks made before any work starts: folders that cannot be written, a CUDA device that is
not there. Each is one message and exit code 2 within a second, not a failure after training;
inside the Docker image (CBIS_BENCH_IN_DOCKER=1) the message says which docker flag to add.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

from benchmark.devices import device_line
from benchmark.errors import UserError
from benchmark.writable import require_writable, write_problem
from tests.conftest import ROOT, run_cli

SPEC = str(ROOT / "specs" / "fixture.yaml")
DOCKER = {"CBIS_BENCH_IN_DOCKER": "1"}


def _blocked(tmp_path: Path) -> Path:
    """A folder no one can create, root included: its parent is a plain file."""
    (tmp_path / "a-file").write_text("")
    return tmp_path / "a-file" / "reports"


def test_a_writable_folder_passes_and_is_not_created(tmp_path: Path) -> None:
    assert write_problem(tmp_path) is None
    assert write_problem(tmp_path / "new" / "deeper") is None
    assert not (tmp_path / "new").exists()
    assert list(tmp_path.iterdir()) == []  # the probe file is gone


def test_permission_denied_names_the_folder_the_uid_and_the_docker_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    monkeypatch.setenv("CBIS_BENCH_IN_DOCKER", "1")
    with pytest.raises(UserError) as info:
        require_writable({"reports folder (--reports)": tmp_path})
    message = str(info.value)
    assert f"cannot write the reports folder (--reports) {tmp_path}: Permission denied" in message
    assert f"uid {os.getuid()}" in message and "--user $(id -u):$(id -g)" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert "Permission denied" in (write_problem(folder) or "")
    finally:
        folder.chmod(0o755)


def test_run_refuses_an_unwritable_reports_folder_before_any_work(tmp_path: Path) -> None:
    """(A real permission problem, uid 1000 against a host-owned mount, is scripts/docker-smoke.sh's.)"""
    home = tmp_path / "home"
    result = run_cli("run", SPEC, "--home", str(home), "--reports", str(_blocked(tmp_path)))
    assert result.code == 2, result.output
    assert "cannot write the reports folder" in result.stderr and "is not a folder" in result.stderr
    assert "Traceback" not in result.output
    assert not home.exists()  # nothing prepared, nothing trained


def test_prepare_and_report_check_their_folders(tmp_path: Path) -> None:
    prepared = run_cli("prepare", SPEC, "--home", str(_blocked(tmp_path)))
    assert prepared.code == 2 and "cannot write the home folder" in prepared.stderr, prepared.output
    assert "--home" in prepared.stderr  # outside Docker: choose another folder
    reported = run_cli("report", SPEC, "--home", str(tmp_path / "home"), "--reports", str(_blocked(tmp_path)))
    assert reported.code == 2 and "cannot write the reports folder" in reported.stderr, reported.output


def test_the_device_line_says_what_trains() -> None:
    assert device_line("cpu") == f"device: cpu ({torch.get_num_threads()} threads)"
    assert device_line("cuda", remote=True).startswith("device: cuda on each Ray task's node")
    if not torch.cuda.is_available():
        assert device_line("auto") == device_line("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is visible here")
def test_cuda_without_a_device_fails_before_any_work(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = run_cli("run", SPEC, "--device", "cuda", "--home", str(home), "--reports", str(tmp_path / "r"), env=DOCKER)
    assert result.code == 2, result.output
    assert "no CUDA device is visible" in result.stderr and "--gpus all" in result.stderr
    assert "Traceback" not in result.output and not home.exists()
    with pytest.raises(UserError, match="no CUDA device is visible"):
        device_line("cuda:1")
