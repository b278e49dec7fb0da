"""The registry's gate: what a plugin registers must fit its kind, checked when it is
registered (or, for a lazy ``module:attribute`` reference, when it is first resolved),
with a message naming the plugin. What a plugin *returns* is checked where the core
calls it (``benchmark/registry/calls.py``).

Each kind's contract is one Protocol in :data:`benchmark.plugin_types.CONTRACTS`, read
here, never restated: a callable kind's ``__call__`` says how many positional arguments
the core passes (those before ``/``) and which keywords a plugin must accept (the
keyword-only ones: by name, or through ``**kwargs``); a class kind's methods and class
attributes (``uses_labels: ClassVar[bool]``, ``Options: ClassVar[type[BaseModel]]``) are
what the class must have. A class registered for a callable kind is a factory: its
``__init__`` is checked when it is called. The messages quote the Protocol's signature.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from benchmark.plugin_types import CONTRACTS as PROTOCOLS

#: kinds whose contract is a class (its members), not a call
CLASS_KINDS = ("normaliser", "dataset")


def _own_parameters(protocol: type) -> list[inspect.Parameter]:
    return list(inspect.signature(protocol.__call__).parameters.values())[1:]  # without self


def signature_text(protocol: type) -> str:
    """``(maps, masks, *, threshold=None) -> np.ndarray``: the Protocol's call as a plugin
    author reads it (no annotations, no ``/``)."""
    parts: list[str] = []
    params = _own_parameters(protocol)
    positional = [p for p in params if p.kind is inspect.Parameter.POSITIONAL_ONLY]
    for p in params:
        if p.kind is inspect.Parameter.KEYWORD_ONLY and positional and "*" not in parts:
            parts.append("*")
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        else:
            parts.append(p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}")
    returns = inspect.signature(protocol.__call__).return_annotation
    return f"({', '.join(parts)})" + (f" -> {returns}" if returns is not inspect.Signature.empty else "")


def _members(protocol: type) -> tuple[list[str], dict[str, str]]:
    """A class contract's methods and its class attributes with their annotations."""
    methods = [
        name
        for name, value in vars(protocol).items()
        if callable(value) and (not name.startswith("_") or name == "__call__") and name != "__init__"
    ]
    attributes = {n: str(a) for n, a in vars(protocol).get("__annotations__", {}).items() if "ClassVar" in str(a)}
    return methods, attributes


@functools.cache
def contract_text(kind: str) -> str:
    """How messages state a kind's contract."""
    protocol = PROTOCOLS.get(kind)
    if protocol is None:
        return "a callable"
    if kind in CLASS_KINDS:
        methods, attributes = _members(protocol)
        said = [f"{m}()" for m in methods] + [
            f"a boolean {a}" if "bool" in t else f"an {a} pydantic model" for a, t in attributes.items()
        ]
        return "a class with " + ", ".join(said[:-1]) + " and " + said[-1]
    return f"a callable {signature_text(protocol)}"


#: kind -> its contract as the messages state it (``benchmark.api`` and the README quote it)
CONTRACTS = {kind: contract_text(kind) for kind in PROTOCOLS}


def _parameters(obj: Callable[..., Any]) -> dict[str, inspect.Parameter] | None:
    try:
        return dict(inspect.signature(obj).parameters)
    except (TypeError, ValueError):  # some builtins have no signature: nothing to check
        return None


def _accepts(params: dict[str, inspect.Parameter], *names: str, positional: int = 0) -> bool:
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        keywords_ok = True
    else:
        keywords_ok = all(n in params for n in names)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params.values()):
        return keywords_ok
    takes = [
        p
        for p in params.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    return keywords_ok and len(takes) >= positional


def _class_problem(protocol: type, target: Any) -> str | None:
    from pydantic import BaseModel

    methods, attributes = _members(protocol)
    missing = [m for m in methods if not callable(getattr(target, m, None))]
    for name, annotation in attributes.items():
        value = getattr(target, name, None)
        if "bool" in annotation and not isinstance(value, bool):
            missing.append(f"a boolean {name}")
        elif "BaseModel" in annotation and not (inspect.isclass(value) and issubclass(value, BaseModel)):
            missing.append(f"an {name} pydantic model")
    return f"it lacks {', '.join(missing)}" if missing else None


def problem(kind: str, obj: Any, family: bool = False) -> str | None:
    """Why ``obj`` cannot be a ``kind``, or None when it fits its Protocol."""
    if not callable(obj):
        return f"{type(obj).__name__} is not callable"
    protocol = PROTOCOLS.get(kind)
    if protocol is None:
        return None
    if kind in CLASS_KINDS:  # a dataset is its class; a normaliser factory that is no class is called later
        return _class_problem(protocol, obj) if inspect.isclass(obj) or kind == "dataset" else None
    if inspect.isclass(obj):
        return None  # a class as factory: its __init__ decides; checked when called
    params = _parameters(obj)
    if params is None:
        return None
    wanted = _own_parameters(protocol)
    positional = sum(p.kind is inspect.Parameter.POSITIONAL_ONLY for p in wanted) + (1 if family else 0)
    keywords = [p.name for p in wanted if p.kind is inspect.Parameter.KEYWORD_ONLY]
    return None if _accepts(params, *keywords, positional=positional) else "its signature does not fit"


def check(kind: str, name: str, plugin: str, obj: Any, family: bool = False) -> str | None:
    """The message refusing ``obj`` as ``kind`` ``name`` from ``plugin`` (None: accepted)."""
    why = problem(kind, obj, family)
    if why is None:
        return None
    shown = repr(obj) if len(repr(obj)) < 60 else type(obj).__name__
    return f"plugin '{plugin}' registered {kind} '{name}' as {shown}: {why}; a {kind} is {contract_text(kind)}"
