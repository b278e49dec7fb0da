"""Plugins load in isolation: a broken one is named and the rest still work; a package
installed into the environment registers through the entry-point group."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmark.registry import loading as plugin_loading
from tests.conftest import ROOT, run_cli


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin_loading.reset()
    yield tmp_path
    plugin_loading.reset()
    for name in [m for m in sys.modules if m.startswith("bench_test_plugin")]:
        del sys.modules[name]


def test_failing_import_is_reported_by_name(plugin_dir: Path) -> None:
    (plugin_dir / "bench_test_plugin_broken.py").write_text("import not_a_real_dependency_xyz\n")
    regs = plugin_loading.load_registries(["bench_test_plugin_broken"])
    failure = next(f for f in regs.failures if f.plugin == "bench_test_plugin_broken")
    assert "ModuleNotFoundError" in failure.error and "not_a_real_dependency_xyz" in failure.error
    assert "resnet50" in regs["backbone"]  # everything else still loaded


def test_misspelt_hook_and_raising_hook_are_reported(plugin_dir: Path) -> None:
    (plugin_dir / "bench_test_plugin_typo.py").write_text(
        "from benchmark.api import hookimpl\n@hookimpl\ndef register_backbone(register):\n    register('x', object())\n"
    )
    (plugin_dir / "bench_test_plugin_raises.py").write_text(
        "from benchmark.api import hookimpl\n"
        "@hookimpl\ndef register_strategies(register):\n    raise RuntimeError('boom')\n"
    )
    regs = plugin_loading.load_registries(["bench_test_plugin_typo", "bench_test_plugin_raises"])
    errors = {f.plugin: f.error for f in regs.failures}
    assert "unknown hook 'register_backbone'" in errors["bench_test_plugin_typo"]
    assert "Did you mean: register_backbones?" in errors["bench_test_plugin_typo"]
    assert "RuntimeError: boom" in errors["bench_test_plugin_raises"]
    assert "simultaneous" in regs["strategy"]


def test_cli_still_works_with_a_broken_plugin(tmp_path: Path) -> None:
    (tmp_path / "bench_test_plugin_cli.py").write_text("raise ImportError('this plugin is broken')\n")
    result = run_cli("plugins", env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "CBIS_BENCH_PLUGINS": "bench_test_plugin_cli"})
    assert result.code == 0, result.output
    assert "resnet50" in result.stdout
    assert "bench_test_plugin_cli" in result.stderr and "this plugin is broken" in result.stderr


def test_an_unknown_name_points_at_an_installed_plugin_that_failed(tmp_path: Path) -> None:
    import yaml

    dist = tmp_path / "epplug-0.3.dist-info"  # an installed distribution, as pip leaves it
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: epplug\nVersion: 0.3\n")
    (dist / "entry_points.txt").write_text("[cbis_bench]\nnets = epplug_nets\n")
    (tmp_path / "epplug_nets.py").write_text("raise ImportError('epplug needs a library that is not installed')\n")
    data = yaml.safe_load((ROOT / "specs" / "fixture.yaml").read_text())
    data["matrix"]["backbone"] = ["ep-net"]  # the broken plugin's backbone
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data))
    result = run_cli(
        "validate", str(spec), env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "CBIS_BENCH_DISABLE_PLUGIN_AUTOLOAD": ""}
    )  # as installed
    assert result.code == 2, result.output
    assert "Unknown backbone 'ep-net'" in result.stderr
    assert "installed plugin(s) that failed to load or had items refused: epplug:nets" in result.stderr
