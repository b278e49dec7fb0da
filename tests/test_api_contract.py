"""The contracts the layout promises: plugins import the public API only, the core never
imports a plugin, the core's modules import each other without a cycle, and the public
API is cheap to import."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from tests.conftest import ROOT


def _imports(path: Path, top_level_only: bool = False) -> list[tuple[str, int]]:
    """(module, line) of every import in a file (``from x import y`` gives ``x``)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, node.lineno))
            out += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]  # maybe a submodule
    return out


def _python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py") if "build" not in p.parts]


def test_plugins_import_only_the_public_api() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in _python_files("plugins", "examples")
        for module, line in _imports(path)
        if module.split(".")[0] == "benchmark"
        and not (module == "benchmark.api" or module.startswith("benchmark.api."))
    ]
    assert not offending, "plugins must import from benchmark.api only:\n" + "\n".join(offending)


def test_the_core_never_imports_a_plugin() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in _python_files("benchmark")
        for module, line in _imports(path)
        if module == "plugins" or module.startswith("plugins.")
    ]
    assert not offending, "\n".join(offending)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_core_has_no_import_cycle() -> None:
    """Module-level imports between the core's modules form a graph without a cycle."""
    modules = {_module_name(p): p for p in _python_files("benchmark")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        imported = {module for module, _ in _imports(path, top_level_only=True)}
        for module in imported:
            if (
                module in modules
                and module != name
                and not any(m.startswith(module + ".") and m in modules for m in imported)
            ):
                graph[name].add(module)  # ``from pkg import sub`` counts as importing ``pkg.sub``, not ``pkg``
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt) :] + [nxt] if nxt in trail else [node, nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(modules):
        if name not in state:
            visit(name, [name])


def test_the_public_api_resolves_every_name_and_imports_no_heavy_library() -> None:
    probe = (
        "import sys, benchmark.api as api; light = 'torch' not in sys.modules and 'cv2' not in sys.modules; "
        "[getattr(api, n) for n in api.__all__]; print(light, len(api.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    light, count = out.stdout.split()
    assert light == "True" and int(count) > 30
