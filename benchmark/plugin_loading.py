"""Load plugins through pluggy and fill one registry per kind.

Built-ins and third-party packages take the same path: the ``cbis_bench`` entry-point
group. A spec (``plugins:``), the ``--plugin`` option or ``CBIS_BENCH_PLUGINS`` may add
plain modules. Each plugin is loaded and called in isolation: one that fails to import,
misspells a hook or raises while registering is reported by name, and every other
plugin still works. ``CBIS_BENCH_DISABLE_PLUGIN_AUTOLOAD=1`` loads only the built-ins.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import traceback
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Iterable

import pluggy

from benchmark import hookspecs
from benchmark.errors import UserError
from benchmark.registry import KINDS, Entry, Registry

ENTRY_POINT_GROUP = "cbis_bench"
DISTRIBUTION = "cbis-bench"
AUTOLOAD_OFF = "CBIS_BENCH_DISABLE_PLUGIN_AUTOLOAD"
EXTRA_PLUGINS = "CBIS_BENCH_PLUGINS"


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be used, and why (shown by ``cbis-bench plugins``)."""

    plugin: str
    source: str
    error: str


@dataclass
class Registries:
    """Every kind's registry plus the plugins that failed to load."""

    by_kind: dict[str, Registry] = field(default_factory=lambda: {k: Registry(k) for k in KINDS})
    failures: list[PluginFailure] = field(default_factory=list)
    plugins: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> Registry:
        return self.by_kind[kind]

    def get(self, kind: str, name: str) -> Entry:
        return self.by_kind[kind].get(name)

    def entries(self) -> list[Entry]:
        return [e for reg in self.by_kind.values() for e in reg]


def _short_traceback(exc: BaseException, plugin_module: str | None) -> str:
    """The exception with its traceback cut down to the plugin's own frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    root = (plugin_module or "").split(".")[0]
    own = [f for f in frames if root and f"/{root}" in f.filename.replace(os.sep, "/")]
    where = "".join(traceback.format_list(own[-3:])) if own else ""
    return f"{type(exc).__name__}: {exc}" + (f"\n{where.rstrip()}" if where else "")


def _entry_point_plugins(autoload: bool) -> Iterable[tuple[str, str, Any]]:
    """(plugin name, source, loader) for every entry point of the group."""
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else "?"
        builtin = dist_name is not None and dist_name.replace("_", "-").lower() == DISTRIBUTION
        if not builtin and not autoload:
            continue
        source = "built-in" if builtin else f"{dist_name} {dist.version if dist else ''}".strip()
        yield ep.name if builtin else f"{dist_name}:{ep.name}", source, ep.load


def _module_plugins(modules: Iterable[str]) -> Iterable[tuple[str, str, Any]]:
    for name in modules:
        yield name, f"module {name}", lambda name=name: importlib.import_module(name)


def _check_hook_names(plugin: Any, spec_names: set[str]) -> str | None:
    """A function marked ``@hookimpl`` whose name is no hook (a typo) is an error."""
    marker = f"{hookspecs.PROJECT}_impl"
    for attr in dir(plugin):
        fn = getattr(plugin, attr, None)
        if callable(fn) and hasattr(fn, marker) and attr not in spec_names:
            import difflib

            close = difflib.get_close_matches(attr, sorted(spec_names), n=1)
            return f"unknown hook '{attr}'" + (f" (did you mean '{close[0]}'?)" if close else "")
    return None


def load_registries(extra_modules: Iterable[str] = ()) -> Registries:
    """Load every plugin and return the filled registries (never raises for a bad plugin)."""
    regs = Registries()
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    spec_names = set(KINDS.values())
    autoload = os.environ.get(AUTOLOAD_OFF, "") not in ("1", "true", "yes")
    env_modules = [m.strip() for m in os.environ.get(EXTRA_PLUGINS, "").split(",") if m.strip()]

    candidates = list(_entry_point_plugins(autoload)) + list(_module_plugins([*env_modules, *extra_modules]))
    seen: set[str] = set()
    for plugin_name, source, load in candidates:
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
        _call_register_hooks(pm, plugin, plugin_name, source, regs)
    return regs


def _call_register_hooks(pm: pluggy.PluginManager, plugin: Any, plugin_name: str, source: str, regs: Registries) -> None:
    """Call each of this plugin's hooks with a ``register`` bound to the plugin."""
    for kind, hook_name in KINDS.items():
        impl = next((i for i in getattr(pm.hook, hook_name).get_hookimpls() if i.plugin is plugin), None)
        if impl is None:
            continue

        def register(name: str, obj: Any, *, aliases: tuple[str, ...] = (), description: str = "", kind: str = kind) -> None:
            if not isinstance(name, str) or not name:
                raise UserError(f"plugin '{plugin_name}' registered a {kind} without a name")
            if obj is None:
                raise UserError(f"plugin '{plugin_name}' registered {kind} '{name}' as None")
            if isinstance(obj, str) and ":" not in obj:
                raise UserError(f"plugin '{plugin_name}' registered {kind} '{name}' as {obj!r}: "
                                "a lazy reference must read 'package.module:attribute'")
            lines = ([] if isinstance(obj, str) else (getattr(obj, "__doc__", None) or "").strip().splitlines())
            regs[kind].add(Entry(name=name, kind=kind, target=obj, source=source, plugin=plugin_name,
                                 description=description or (lines[0] if lines else ""), aliases=tuple(aliases)))

        try:
            impl.function(register=register)
        except UserError as exc:
            regs.failures.append(PluginFailure(plugin_name, source, exc.message))
        except Exception as exc:
            regs.failures.append(PluginFailure(plugin_name, source, _short_traceback(exc, plugin.__name__ if hasattr(plugin, "__name__") else None)))


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
