"""Shared fixtures: generated CBIS-DDSM-like trees (every layout), a throwaway home, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
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


def run_cli_process(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> CliResult:
    """Run ``cbis-bench`` in a subprocess, as a user would: for tests where the process is
    the point (a fresh interpreter's imports, signals, two processes at once)."""
    full_env = os.environ | {"COLUMNS": "200", "NO_COLOR": "1"} | (env or {})
    proc = subprocess.run([*CLI, *args], cwd=cwd or ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def _own_module(module: object) -> bool:
    """A module this process must keep: the harness, the built-in plugins, the standard
    library and installed packages. Others (a test's plugin file in a temporary folder)
    are forgotten after the call, so the next test's file of the same name is imported."""
    file = getattr(module, "__file__", None)
    if not file:
        return True
    path = Path(file).resolve()
    kept = [ROOT / "benchmark", ROOT / "plugins", Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    return any(path.is_relative_to(folder) for folder in kept)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600) -> CliResult:
    """Run ``cbis-bench`` in this process (typer's ``CliRunner``): the same command line,
    exit code and output as the installed command, without a new interpreter importing
    torch each time. The environment, working folder, ``sys.path``, modules imported from
    outside the harness and torch's determinism flag and the loaded plugin registries are restored, a Ray instance
    the command started is shut down afterwards; an uncaught
    exception is printed to stderr as a traceback with exit code 1, as the real process
    would. ``timeout`` is accepted for :func:`run_cli_process`'s signature and unused."""
    import torch
    from typer.testing import CliRunner

    from benchmark.cli import app
    from benchmark.registry import loading

    saved_env, saved_cwd, saved_path = dict(os.environ), Path.cwd(), list(sys.path)
    saved_modules, deterministic = set(sys.modules), torch.are_deterministic_algorithms_enabled()
    extra = env or {}
    os.environ.update({"COLUMNS": "200", "NO_COLOR": "1"} | {k: v for k, v in extra.items() if k != "PYTHONPATH"})
    sys.path[:0] = [p for p in extra.get("PYTHONPATH", "").split(os.pathsep) if p]
    loading.reset()  # registries depend on the environment and sys.path given here
    try:
        os.chdir(cwd or ROOT)
        result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            if not _own_module(sys.modules[name]):
                del sys.modules[name]
        torch.use_deterministic_algorithms(deterministic)
        loading.reset()
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():  # a local instance the command started ends with it
            ray.shutdown()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))  # what an uncaught error prints
    return CliResult(result.exit_code, result.stdout, stderr)


@pytest.fixture(scope="session")
def small_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40-mammogram Kaggle-layout tree, seed 3."""
    return generate_tree(tmp_path_factory.mktemp("trees") / "small", FixtureConfig(seed=3, images=40))


@pytest.fixture(scope="session")
def layout_trees(tmp_path_factory: pytest.TempPathFactory, small_tree: Path) -> dict[str, Path]:
    """The seed-3, 40-mammogram tree in each of the three layouts (Kaggle: ``small_tree``)."""
    base = tmp_path_factory.mktemp("layouts")
    return {
        "kaggle": small_tree,
        **{
            layout: generate_tree(base / layout, FixtureConfig(seed=3, images=40, layout=layout))
            for layout in ("tcia-classic", "tcia-descriptive")
        },
    }


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
