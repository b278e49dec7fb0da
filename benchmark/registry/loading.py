"""Load plugins through pluggy and fill one registry per kind.

Built-ins and third-party packages take the same path: the ``cbis_bench`` entry-point
group (the built-ins first, so that no other plugin can take one of their names). A
spec (``plugins:``), the ``--plugin`` option or ``CBIS_BENCH_PLUGINS`` may add plain
modules. Each plugin is loaded and called in isolation: one that fails to import,
misspells a hook, raises while registering or registers something that breaks its
kind's contract is reported by name, and every other plugin (and every other item of
the same plugin) still works. ``CBIS_BENCH_DISABLE_PLUGIN_AUTOLOAD=1`` loads only the
built-ins.

Each plugin's *provenance* identifies its code: a distribution's name and version, or a
hash of a plain module's (or package's) source files, with the harness version for the
built-ins. It enters the id of every run that uses the plugin, so upgrading or editing
a plugin reruns what it touched.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata as md
import os
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from benchmark import __version__
from benchmark.errors import UserError, did_you_mean
from benchmark.registry import KINDS, Entry, Registry, gate, hookspecs

ENTRY_POINT_GROUP = "cbis_bench"
DISTRIBUTION = "cbis-bench"
AUTOLOAD_OFF = "CBIS_BENCH_DISABLE_PLUGIN_AUTOLOAD"
EXTRA_PLUGINS = "CBIS_BENCH_PLUGINS"


@dataclass(frozen=True)
class PluginFailure:
    """A plugin (or one of its items) that could not be used, and why."""

    plugin: str
    source: str
    error: str


@dataclass
class Registries:
    """Every kind's registry plus the plugins that failed to load."""

    by_kind: dict[str, Registry] = field(default_factory=lambda: {k: Registry(k) for k in KINDS})
    failures: list[PluginFailure] = field(default_factory=list)
    plugins: dict[str, str] = field(default_factory=dict)  # plugin name -> source
    provenance: dict[str, str] = field(default_factory=dict)  # plugin name -> what identifies its code

    def __getitem__(self, kind: str) -> Registry:
        return self.by_kind[kind]

    def get(self, kind: str, name: str) -> Entry:
        return self.by_kind[kind].get(name)

    def entries(self) -> list[Entry]:
        return [e for reg in self.by_kind.values() for e in reg]

    def failed(self, modules: Iterable[str]) -> list[PluginFailure]:
        """Failures of the named plain modules (``--plugin``, a spec's ``plugins:``)."""
        wanted = set(modules)
        return [f for f in self.failures if f.plugin in wanted and f.source.startswith("module ")]


def _short_traceback(exc: BaseException, plugin_module: str | None) -> str:
    """The exception with its traceback cut down to the plugin's own frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    root = (plugin_module or "").split(".")[0]
    own = [f for f in frames if root and f"/{root}" in f.filename.replace(os.sep, "/")]
    where = "".join(traceback.format_list(own[-3:])) if own else ""
    return f"{type(exc).__name__}: {exc}" + (f"\n{where.rstrip()}" if where else "")


def source_hash(module: ModuleType) -> str:
    """A hash of a module's source file, or of every ``.py`` file of a package."""
    origin = getattr(module, "__file__", None)
    if not origin:
        return "unknown"
    path = Path(origin)
    files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
    h = hashlib.sha256()
    for file in files:
        try:
            h.update(file.read_bytes())
        except OSError:
            h.update(b"unreadable")
    return h.hexdigest()[:12]


def _entry_point_plugins(autoload: bool) -> list[tuple[str, str, Any, str]]:
    """(plugin name, source, loader, version) for every entry point of the group, the
    built-ins first."""
    found = []
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else "?"
        builtin = dist_name is not None and dist_name.replace("_", "-").lower() == DISTRIBUTION
        if not builtin and not autoload:
            continue
        version = dist.version if dist is not None else ""
        source = "built-in" if builtin else f"{dist_name} {version}".strip()
        name = ep.name if builtin else f"{dist_name}:{ep.name}"
        found.append((not builtin, name, source, ep.load, f"{dist_name}=={version}"))
    return [(name, source, load, version) for _, name, source, load, version in sorted(found, key=lambda f: f[:2])]


def _module_plugins(modules: Iterable[str]) -> list[tuple[str, str, Any, str]]:
    return [(name, f"module {name}", lambda name=name: importlib.import_module(name), "") for name in modules]


def _check_hook_names(plugin: Any, spec_names: set[str]) -> str | None:
    """A function marked ``@hookimpl`` whose name is no hook (a typo) is an error."""
    marker = f"{hookspecs.PROJECT}_impl"
    for attr in dir(plugin):
        fn = getattr(plugin, attr, None)
        if callable(fn) and hasattr(fn, marker) and attr not in spec_names:
            return f"unknown hook '{attr}'.{did_you_mean(attr, sorted(spec_names))}"
    return None


def _provenance(plugin: Any, source: str, version: str) -> str:
    """What identifies a plugin's code: built-ins and plain modules by their source, an
    installed distribution by its version (and its source, which an editable install
    may change without a new version)."""
    code = source_hash(plugin) if isinstance(plugin, ModuleType) else "object"
    if source == "built-in":
        return f"cbis-bench=={__version__}+{code}"
    return f"{version}+{code}" if version else code


def load_registries(extra_modules: Iterable[str] = ()) -> Registries:
    """Load every plugin and return the filled registries (never raises for a bad plugin)."""
    regs = Registries()
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    spec_names = set(KINDS.values())
    autoload = os.environ.get(AUTOLOAD_OFF, "") not in ("1", "true", "yes")
    env_modules = [m.strip() for m in os.environ.get(EXTRA_PLUGINS, "").split(",") if m.strip()]

    candidates = _entry_point_plugins(autoload) + _module_plugins([*env_modules, *extra_modules])
    seen: set[str] = set()
    for plugin_name, source, load, version in candidates:
        if plugin_name in seen:
            continue
        seen.add(plugin_name)
        module_name = None
        try:
            plugin = load()
            module_name = getattr(plugin, "__name__", None)
            problem = _check_hook_names(plugin, spec_names)
            if problem:
                raise UserError(problem)
            if isinstance(plugin, ModuleType) and pm.is_registered(plugin):
                continue
            pm.register(plugin, name=plugin_name)
        except UserError as exc:
            regs.failures.append(PluginFailure(plugin_name, source, exc.message))
            continue
        except Exception as exc:  # a broken plugin must not break the CLI
            regs.failures.append(PluginFailure(plugin_name, source, _short_traceback(exc, module_name)))
            continue
        regs.plugins[plugin_name] = source
        regs.provenance[plugin_name] = _provenance(plugin, source, version)
        _call_register_hooks(pm, plugin, plugin_name, source, regs)
    return regs


def _call_register_hooks(
    pm: pluggy.PluginManager, plugin: Any, plugin_name: str, source: str, regs: Registries
) -> None:
    """Call each of this plugin's hooks with a ``register`` bound to the plugin. An item
    refused by the gate, or whose name is taken, is recorded as a failure; the plugin's
    other items are still registered."""
    provenance = regs.provenance[plugin_name]
    for kind, hook_name in KINDS.items():
        impl = next((i for i in getattr(pm.hook, hook_name).get_hookimpls() if i.plugin is plugin), None)
        if impl is None:
            continue

        def register(
            name: str,
            obj: Any,
            *,
            aliases: tuple[str, ...] = (),
            description: str = "",
            options: Any = None,
            wraps: bool = False,
            kind: str = kind,
        ) -> None:
            try:
                regs[kind].add(
                    checked_entry(
                        kind, name, obj, aliases, description, options, plugin_name, source, provenance, wraps
                    )
                )
            except UserError as exc:
                regs.failures.append(PluginFailure(plugin_name, source, exc.message))

        try:
            impl.function(register=register)
        except UserError as exc:
            regs.failures.append(PluginFailure(plugin_name, source, exc.message))
        except Exception as exc:
            regs.failures.append(
                PluginFailure(plugin_name, source, _short_traceback(exc, getattr(plugin, "__name__", None)))
            )


def checked_entry(
    kind: str,
    name: Any,
    obj: Any,
    aliases: tuple[str, ...],
    description: str,
    options: Any,
    plugin: str,
    source: str,
    provenance: str,
    wraps: bool = False,
) -> Entry:
    """A checked entry (raises :class:`UserError` naming the plugin when it is refused):
    what ``register`` does with each item, and what ``benchmark.api.testing`` does with
    an object a plugin author checks before registering it."""
    if not isinstance(name, str) or not name:
        raise UserError(f"plugin '{plugin}' registered a {kind} without a name")
    if obj is None:
        raise UserError(f"plugin '{plugin}' registered {kind} '{name}' as None")
    family = name.endswith("/*")
    if wraps and not family:
        raise UserError(
            f"plugin '{plugin}' registered {kind} '{name}' with wraps=True: only a family "
            "('name/*') wraps other registered names"
        )
    if isinstance(obj, str):
        if ":" not in obj:
            raise UserError(
                f"plugin '{plugin}' registered {kind} '{name}' as {obj!r}: "
                "a lazy reference must read 'package.module:attribute'"
            )
    elif (refused := gate.check(kind, name, plugin, obj, family)) is not None:
        raise UserError(refused)
    if options is not None:
        from pydantic import BaseModel

        if not (isinstance(options, type) and issubclass(options, BaseModel)):
            raise UserError(
                f"plugin '{plugin}' registered {kind} '{name}' with options={options!r}: "
                "options must be a pydantic model class"
            )
    lines = [] if isinstance(obj, str) else (getattr(obj, "__doc__", None) or "").strip().splitlines()
    return Entry(
        name=name,
        kind=kind,
        target=obj,
        source=source,
        plugin=plugin,
        description=description or (lines[0] if lines else ""),
        aliases=tuple(aliases),
        options=options,
        provenance=provenance,
        family=family,
        wraps=wraps,
    )


_CACHE: dict[tuple[str, ...], Registries] = {}


def registries(extra_modules: Iterable[str] = ()) -> Registries:
    """The process-wide registries for this set of extra modules (loaded once)."""
    key = tuple(sorted(set(extra_modules)))
    if key not in _CACHE:
        _CACHE[key] = load_registries(key)
    return _CACHE[key]


def reset() -> None:
    """Forget loaded registries (tests install plugins mid-session)."""
    _CACHE.clear()
