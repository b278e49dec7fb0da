"""One registry type for every plugin kind: names, aliases, origin, and one miss message.

Modelled on lm-evaluation-harness's registry and timm's model listing: a lookup miss
always reads ``Unknown backbone 'resnt50'. Did you mean: resnet50? Available: ...``.
The registry is the gate: an entry is checked against its kind's contract
(``gate.py``) when registered, or when a lazy reference is first resolved, and a name
belongs to one plugin only (``loading.py`` registers the built-ins first, so a
third-party plugin can never shadow one).

The package: ``hookspecs`` (the hooks a plugin implements), ``loading`` (finding and
loading plugins in isolation), ``gate`` (what each kind must be), ``calls`` (calling a
plugin and checking what it returns).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from benchmark.errors import UnknownNameError, UserError, did_you_mean
from benchmark.registry import gate

#: plugin kind -> the hook that registers it. The core knows kinds, never names.
KINDS: dict[str, str] = {
    "backbone": "register_backbones",
    "strategy": "register_strategies",
    "normaliser": "register_normalisers",
    "explainer": "register_explainers",
    "localisation": "register_localisation_metrics",
    "faithfulness": "register_faithfulness_metrics",
    "dataset": "register_datasets",
    "logger": "register_loggers",
    "whole_model": "register_whole_models",
}


@dataclass(frozen=True)
class Entry:
    """One registered item and where it came from.

    ``target`` is the object itself or a lazy ``"package.module:attribute"`` reference,
    imported (and checked against its kind) on first use of :attr:`obj`, so that listing
    plugins never pays for heavy imports (torch, timm, OpenCV). ``options`` is the
    pydantic model that validates the options a spec gives it (or None: the object's
    own ``Options`` attribute, if any). ``provenance`` identifies the plugin's code (its
    distribution and version, or a hash of its source): it enters the id of every run
    that uses the entry.
    """

    name: str
    kind: str
    target: Any
    source: str
    plugin: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    options: Any = None
    provenance: str = ""
    family: bool = False
    wraps: bool = False  # a family whose variants are other registered names of its kind

    @property
    def obj(self) -> Any:
        if isinstance(self.target, str) and ":" in self.target:
            module, _, attr = self.target.partition(":")
            try:
                resolved = functools.reduce(getattr, attr.split("."), importlib.import_module(module))
            except Exception as exc:
                raise UserError(
                    f"{self.kind} '{self.name}' from plugin '{self.plugin}' could not be loaded "
                    f"({self.target}): {type(exc).__name__}: {exc}"
                ) from None
            refused = gate.check(self.kind, self.name, self.plugin, resolved, self.family)
            if refused:
                raise UserError(refused)
            object.__setattr__(self, "target", resolved)
        return self.target


def natural_key(name: str) -> list[Any]:
    """Sort ``resnet34`` before ``resnet50`` and ``vgg16`` before ``vgg19`` like a human."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name.lower())]


@dataclass
class Registry:
    """The named items of one plugin kind."""

    kind: str
    _entries: dict[str, Entry] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        """Add ``entry``; a name (or alias) already taken is refused, naming both owners."""
        for key in (entry.name, *entry.aliases):
            if key in self._entries or key in self._aliases:
                owner = self._entries.get(key) or self._entries[self._aliases[key]]
                raise UserError(
                    f"{self.kind} name '{key}' from plugin '{entry.plugin}' ({entry.source}) is already registered by "
                    f"plugin '{owner.plugin}' ({owner.source}): the first keeps it, this one is not registered"
                )
        self._entries[entry.name] = entry
        for alias in entry.aliases:
            self._aliases[alias] = entry.name

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self._entries.values(), key=lambda e: natural_key(e.name)))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return [e.name for e in self]

    def get(self, name: str) -> Entry:
        """Look a name up. An entry named ``family/*`` serves every ``family/<variant>``:
        its object is called with the variant as first argument (``timm/convnext_tiny``).
        When the family wraps other entries (``wraps=True``) the variant must itself be a
        registered name (``protopnet/timm/resnet50``)."""
        if name in self._entries:
            return self._entries[name]
        if name in self._aliases:
            return self._entries[self._aliases[name]]
        for entry in self._entries.values():
            if entry.name.endswith("/*") and name.startswith(entry.name[:-1]) and len(name) > len(entry.name) - 1:
                variant = name[len(entry.name) - 1 :]
                if entry.wraps:  # protopnet/vgg16 wraps vgg16: a misspelt inner name is refused here
                    self.get(variant)
                return dataclasses.replace(entry, name=name, target=functools.partial(entry.obj, variant), family=False)
        raise UnknownNameError(self.miss_message(name))

    def miss_message(self, name: str) -> str:
        known = self.names()
        shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
        return (
            f"Unknown {self.kind} '{name}'.{did_you_mean(name, known + list(self._aliases))} "
            f"Available: {shown} ({len(known)} total)"
        )
