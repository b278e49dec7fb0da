"""Which plugin modules travel with a Ray job: local source only (no Ray needed to check).

A module file or package folder the driver imports from its own disk is shipped; an
installed package (to be installed on every node, like cbis-bench) and the harness's own
packages are not; a module that does not exist is left to the plugin loader's message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.run.ray import local_module_sources, plugin_modules
from benchmark.spec.loader import load_spec
from tests.conftest import ROOT


def test_local_files_and_folders_are_shipped_installed_packages_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lonely_plugin.py").write_text("")
    package = tmp_path / "plugin_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "backbones.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    sources = local_module_sources(
        [
            "lonely_plugin",
            "plugin_pkg.backbones",
            "yaml",
            "benchmark.cli",
            "plugins.backbones",
            "no_such_module_anywhere",
        ]
    )
    assert sources == sorted([str(tmp_path / "lonely_plugin.py"), str(package)])


def test_plugin_modules_are_the_specs_and_the_command_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(ROOT / "specs" / "fixture.yaml")
    monkeypatch.setenv("CBIS_BENCH_PLUGINS", "a_module, b_module,,")
    assert plugin_modules(spec) == [*spec.plugins, "a_module", "b_module"]
