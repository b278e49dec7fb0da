"""The registry's gate: what a plugin registers must fit its kind, checked when it is
registered (or, for a lazy ``module:attribute`` reference, when it is first resolved),
with a message naming the plugin. What a plugin *returns* is checked where the core
calls it (``benchmark/registry/calls.py``).

A kind's contract, in one line each (``benchmark/registry/hookspecs.py`` has the detail):

* backbone: a callable taking ``num_classes`` and ``pretrained`` (and ``weights``, or
  ``**kwargs``, to accept a local weights file) returning a ``Backbone``; a family entry
  (``timm/*``) takes the variant name first;
* strategy: a callable ``(groups, frozen, hparams) -> list[Phase]``;
* normaliser: a class (or factory) whose objects have ``fit``, ``__call__``,
  ``state_dict`` and a boolean ``uses_labels``;
* explainer: a callable ``(backbone, **options) -> explainer``;
* localisation: a callable ``(maps, masks, *, threshold)`` returning one score per map;
* faithfulness: a callable ``(model, inputs, maps, targets, **options)`` returning one
  score per map;
* dataset: a class with an ``Options`` pydantic model, ``catalogue``, ``read_image`` and
  ``read_mask``;
* whole_model: a callable ``(context, **options) -> WholeImageOutput``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

CONTRACTS: dict[str, str] = {
    "backbone": "a callable (num_classes, pretrained, weights=None, **options) -> Backbone",
    "strategy": "a callable (groups, frozen, hparams) -> list[Phase]",
    "normaliser": "a class with fit(), __call__(), state_dict() and a boolean uses_labels",
    "explainer": "a callable (backbone, **options) -> explainer",
    "localisation": "a callable (maps, masks, *, threshold=None) -> one score per map",
    "faithfulness": "a callable (model, inputs, maps, targets, **options) -> one score per map",
    "dataset": "a class with an Options pydantic model, catalogue(), read_image() and read_mask()",
    "logger": "a callable (home, spec, **options) -> an object with log(run) and close()",
    "whole_model": "a callable (context: WholeImageContext, **options) -> WholeImageOutput",
}


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


def problem(kind: str, obj: Any, family: bool = False) -> str | None:
    """Why ``obj`` cannot be a ``kind``, or None when it fits."""
    if not callable(obj):
        return f"{type(obj).__name__} is not callable"
    if kind == "normaliser":
        target = obj if inspect.isclass(obj) else None
        if target is not None:
            missing = [a for a in ("fit", "__call__", "state_dict") if not callable(getattr(target, a, None))]
            if missing or not isinstance(getattr(target, "uses_labels", None), bool):
                return f"class {target.__name__} lacks " + ", ".join(
                    missing
                    + ([] if isinstance(getattr(target, "uses_labels", None), bool) else ["a boolean uses_labels"])
                )
        return None
    if kind == "dataset":
        from pydantic import BaseModel

        options = getattr(obj, "Options", None)
        if not (inspect.isclass(options) and issubclass(options, BaseModel)):
            return "it has no Options pydantic model"
        missing = [a for a in ("catalogue", "read_image", "read_mask") if not callable(getattr(obj, a, None))]
        return f"it lacks {', '.join(missing)}" if missing else None
    if inspect.isclass(obj):
        return None  # a class as factory: its __init__ decides; checked when called
    params = _parameters(obj)
    if params is None:
        return None
    first = 1 if family else 0
    ok = {
        "backbone": lambda: _accepts(params, "num_classes", "pretrained", positional=first),
        "strategy": lambda: _accepts(params, positional=3),
        "explainer": lambda: _accepts(params, positional=1 + first),
        "localisation": lambda: _accepts(params, "threshold", positional=2 + first),
        "faithfulness": lambda: _accepts(params, positional=4 + first),
        "whole_model": lambda: _accepts(params, positional=1 + first),
    }.get(kind, lambda: True)()
    return None if ok else "its signature does not fit"


def check(kind: str, name: str, plugin: str, obj: Any, family: bool = False) -> str | None:
    """The message refusing ``obj`` as ``kind`` ``name`` from ``plugin`` (None: accepted)."""
    why = problem(kind, obj, family)
    if why is None:
        return None
    shown = repr(obj) if len(repr(obj)) < 60 else type(obj).__name__
    return (
        f"plugin '{plugin}' registered {kind} '{name}' as {shown}: {why}; "
        f"a {kind} is {CONTRACTS.get(kind, 'a callable')}"
    )
