"""Every plugin a spec names, found by walking the schema: a field that names plugins is
marked ``json_schema_extra={"plugin": <kind>}`` where it is declared (``schema.py``), so
validation (unknown names, plugin options) and run identity (the plugins' provenance)
read one list, and a new plugin-naming field needs no second edit elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from benchmark.spec.schema import PluginRef


@dataclass(frozen=True)
class NamedPlugin:
    """One plugin reference of a spec: where it is (a field path), its kind, the name and
    the options given."""

    loc: tuple[Any, ...]
    kind: str
    name: str
    options: dict[str, Any]


def _kind(model: BaseModel, field: str) -> str | None:
    extra = type(model).model_fields[field].json_schema_extra
    kind = extra.get("plugin") if isinstance(extra, dict) else None
    return kind if isinstance(kind, str) else None


def _refs(value: Any, loc: tuple[Any, ...], kind: str) -> Iterator[NamedPlugin]:
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _refs(item, (*loc, i), kind)
    elif isinstance(value, PluginRef):
        yield NamedPlugin(loc, kind, value.name, dict(value.options))
    elif isinstance(value, str):
        yield NamedPlugin(loc, kind, value, {})


def named_plugins(model: BaseModel, loc: tuple[Any, ...] = ()) -> Iterator[NamedPlugin]:
    """Every plugin reference under ``model`` (a spec, or any part of it), in field order."""
    for field in type(model).model_fields:
        value = getattr(model, field)
        kind = _kind(model, field)
        if kind is not None:
            yield from _refs(value, (*loc, field), kind)
        elif isinstance(value, BaseModel):
            yield from named_plugins(value, (*loc, field))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from named_plugins(item, (*loc, field, i))
