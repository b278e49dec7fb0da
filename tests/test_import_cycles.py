"""No import cycle among the project's own modules (``benchmark`` and ``plugins``).

The graph is read from the source with :mod:`ast`, nothing is imported. Its nodes are the
modules: ``pkg/mod.py`` is ``pkg.mod`` and ``pkg/__init__.py`` is ``pkg`` (a folder without
``__init__.py`` is a namespace package: no code, no node). Module ``m`` has an edge to ``n``
when some statement of ``m`` imports ``n``, wherever it stands: at the top, inside a function
or a method (imported when it first runs), under ``if TYPE_CHECKING:`` (a dependency all the
same, for type checkers and readers; moving an import there or into a function hides a
cycle, it does not remove one). What a statement names:

* ``import a.b.c`` (``as x`` or not): ``a.b.c``.
* ``from a.b import c``: ``a.b.c`` when that is a module, else ``a.b`` itself (the package's
  ``__init__``, where the name ``c`` is defined). So a submodule that takes a name from its
  own package's ``__init__`` (``from benchmark.registry import Registries`` in
  ``benchmark.registry.loading``) depends on that ``__init__``, and an ``__init__`` that
  imports the submodule back closes a cycle.
* relative imports (``from . import x``, ``from ..a import b``) are resolved against the
  importing module's package first, then read as above.

Not an edge: the parent packages that Python runs on the way to a submodule (``import
a.b.c`` runs ``a`` and ``a.b`` too). Counting them would forbid the ordinary package whose
``__init__`` re-exports its submodules while those import one another; what such a package's
submodule needs is its sibling, not the ``__init__``. Not an edge either: a module named in a
string (``importlib.import_module("...")``, the registry's lazy ``"module:attribute"``
entries, ``benchmark.api``'s lazy names): those are looked up when used, by name, not
imported by the module that names them. Imports of anything outside the two packages are
ignored.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("benchmark", "plugins")


def project_modules(root: Path, packages: Iterable[str]) -> dict[str, tuple[Path, bool]]:
    """``module name -> (source file, is a package)`` of every module under ``packages``."""
    out: dict[str, tuple[Path, bool]] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            out[".".join(parts)] = (path, is_package)
    return out


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(module: str, path: Path, is_package: bool, known: Mapping[str, object]) -> set[str]:
    """The project modules that ``module`` (source ``path``) imports, by the rules above."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve_relative(module, is_package, node.level, node.module) if node.level else node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in known else source)
    return {name for name in found if name in known and name != module}


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    modules = project_modules(root, packages)
    return {name: imports_of(name, path, is_package, modules) for name, (path, is_package) in modules.items()}


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle path (``a -> b -> ... -> a``) through each group of modules that reach one
    another (the strongly connected components with more than one module), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative (no recursion limit)
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(_cycle_in(graph, component) for component in components)


def _cycle_in(graph: Mapping[str, Iterable[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first)."""
    start = min(component)
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if child in component and child not in parent:
                    parent[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a component of two or more always has one


def test_the_project_has_no_import_cycle() -> None:
    graph = import_graph(ROOT, PACKAGES)
    assert "benchmark.spec.loader" in graph and "plugins.explainers" in graph  # the walk found the code
    cycles = find_cycles(graph)
    assert not cycles, "import cycles (move the shared piece into a module of its own):\n" + "\n".join(
        " -> ".join(cycle) for cycle in cycles
    )


# ------------------------------------------------------------------ the checker itself
def _write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    "files, cycle",
    [
        pytest.param(
            {"pkg/__init__.py": "", "pkg/a.py": "from pkg.b import x\n", "pkg/b.py": "def f():\n    import pkg.a\n"},
            ["pkg.a", "pkg.b", "pkg.a"],
            id="function-local import",
        ),
        pytest.param(
            {
                "pkg/__init__.py": "",
                "pkg/a.py": "from . import b\n",
                "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import Thing\n",
            },
            ["pkg.a", "pkg.b", "pkg.a"],
            id="relative and TYPE_CHECKING imports",
        ),
        pytest.param(
            {
                "pkg/__init__.py": "",
                "pkg/sub/__init__.py": "from pkg.sub.mod import f\n",
                "pkg/sub/mod.py": "from pkg.sub import g\n",
            },
            ["pkg.sub", "pkg.sub.mod", "pkg.sub"],
            id="a submodule importing its package's __init__",
        ),
        pytest.param(
            {
                "pkg/__init__.py": "",
                "pkg/a.py": "from .sub.c import x\n",
                "pkg/sub/__init__.py": "",
                "pkg/sub/c.py": "from ..b import y\n",
                "pkg/b.py": "import pkg.a as a\n",
            },
            ["pkg.a", "pkg.sub.c", "pkg.b", "pkg.a"],
            id="three modules, two levels up",
        ),
        pytest.param(
            {"ns/a.py": "from ns.b import x\n", "ns/b.py": "from ns import a\n"},
            ["ns.a", "ns.b", "ns.a"],
            id="namespace package (no __init__)",
        ),
    ],
)
def test_a_cycle_is_found(tmp_path: Path, files: dict[str, str], cycle: list[str]) -> None:
    _write_package(tmp_path, files)
    assert find_cycles(import_graph(tmp_path, [cycle[0].split(".")[0]])) == [cycle]


def test_what_is_not_a_cycle(tmp_path: Path) -> None:
    _write_package(
        tmp_path,
        {
            # the __init__ re-exports its submodules; they import each other, not the __init__
            "pkg/__init__.py": "from pkg.a import f\nfrom pkg.b import g\n",
            "pkg/a.py": "import os\nfrom pkg.b import g\n",
            "pkg/b.py": "import json\nimport importlib\nMOD = importlib.import_module('pkg.a')  # by name\n",
        },
    )
    graph = import_graph(tmp_path, ["pkg"])
    assert graph == {"pkg": {"pkg.a", "pkg.b"}, "pkg.a": {"pkg.b"}, "pkg.b": set()}
    assert find_cycles(graph) == []


def test_every_cycle_is_reported() -> None:
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"f"}}
    assert find_cycles(graph) == [["a", "b", "a"], ["c", "d", "e", "c"]]
