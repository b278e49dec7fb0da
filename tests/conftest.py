"""Shared fixtures: generated CBIS-DDSM-like trees (every layout), a throwaway home, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmark.fixture import FixtureConfig, generate_tree

#: an installed third-party plugin must not change what the tests compute: only the built-ins
#: load (in this process and every CLI it starts), unless a test asks for more
os.environ["CBIS_BENCH_DISABLE_PLUGIN_AUTOLOAD"] = "1"

ROOT = Path(__file__).resolve().parent.parent
REAL_CSV_DIR = ROOT / "tests" / "data" / "cbis-ddsm-csv"  # a committed copy (see its README)
CLI = [sys.executable, "-m", "benchmark.cli"]


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600) -> CliResult:
    """Run ``cbis-bench`` in a subprocess, as a user would (real exit codes, real output)."""
    full_env = os.environ | {"COLUMNS": "200", "NO_COLOR": "1"} | (env or {})
    proc = subprocess.run([*CLI, *args], cwd=cwd or ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def small_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40-mammogram Kaggle-layout tree, seed 3."""
    return generate_tree(tmp_path_factory.mktemp("trees") / "small", FixtureConfig(seed=3, images=40))


@pytest.fixture(scope="session")
def layout_trees(tmp_path_factory: pytest.TempPathFactory, small_tree: Path) -> dict[str, Path]:
    """The seed-3, 40-mammogram tree in each of the three layouts (Kaggle: ``small_tree``)."""
    base = tmp_path_factory.mktemp("layouts")
    return {"kaggle": small_tree, **{layout: generate_tree(base / layout, FixtureConfig(seed=3, images=40, layout=layout))
                                     for layout in ("tcia-classic", "tcia-descriptive")}}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


FIXTURE_SPEC = ROOT / "specs" / "fixture.yaml"


@pytest.fixture(scope="session")
def fixture_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``cbis-bench run specs/fixture.yaml`` once per session (home/ and reports/ inside):
    shared by the end-to-end tests and the localisation validation."""
    base = tmp_path_factory.mktemp("fixture-run")
    result = run_cli("run", str(FIXTURE_SPEC), "--home", str(base / "home"), "--reports", str(base / "reports"))
    assert result.code == 0, result.output
    return base
