"""``--set key.path=value``: change one value of a spec without copying it (Hydra's
``key=value``, MMPretrain's ``--cfg-options``).

The value is read as YAML (``3``, ``0.5``, ``cpu``, ``[resnet50, vgg16]``,
``{rule: otsu}``), put at its path in the spec's data (``matrix.hparams[0].lr_head``;
missing mappings are created), and the result validated exactly like the file, so a
wrong key or value is the same precise message, naming the ``--set`` it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from benchmark.errors import UserError
from benchmark.spec.field_path import parse as parse_field_path
from benchmark.spec.field_path import show as show_field_path
from benchmark.spec.unique_keys import UniqueKeyLoader


def parse_path(key: str) -> tuple[Any, ...]:
    """``matrix.hparams[0].lr_head`` -> ``("matrix", "hparams", 0, "lr_head")``."""
    try:
        return parse_field_path(key)
    except ValueError as exc:
        raise UserError(f"--set {key}: {exc}") from None


def parse(item: str) -> tuple[tuple[Any, ...], Any]:
    """``key.path=value`` -> (path, value read as YAML)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. --set training.max_epochs=3")
    try:
        value = yaml.load(raw, Loader=UniqueKeyLoader) if raw.strip() else None  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        raise UserError(f"--set {item}: the value is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if value is None:
        raise UserError(f"--set {item}: give a value (write KEY=VALUE)")
    return parse_path(key.strip()), value


def apply(data: dict[str, Any], overrides: Sequence[str]) -> tuple[dict[str, Any], dict[tuple[Any, ...], str]]:
    """The spec data with every override applied, and where each came from (for messages)."""
    origin: dict[tuple[Any, ...], str] = {}
    for item in overrides:
        path, value = parse(item)
        node: Any = data
        for depth, part in enumerate(path[:-1]):
            nxt = path[depth + 1]
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    raise UserError(f"--set {item}: {_shown(path[:depth])} has no item [{part}]")
                node = node[part]
                continue
            if not isinstance(node, dict):
                raise UserError(f"--set {item}: {_shown(path[:depth])} is not a mapping")
            if part not in node or node[part] is None:
                if isinstance(nxt, int):
                    raise UserError(f"--set {item}: {_shown(path[: depth + 1])} is not a list in the spec")
                node[part] = {}
            node = node[part]
        last = path[-1]
        if isinstance(last, int):
            if not isinstance(node, list) or last >= len(node):
                raise UserError(f"--set {item}: {_shown(path[:-1])} has no item [{last}]")
        elif not isinstance(node, dict):
            raise UserError(f"--set {item}: {_shown(path[:-1])} is not a mapping")
        node[last] = value
        origin[path] = f"--set {item}"
    return data, origin


def _shown(path: tuple[Any, ...]) -> str:
    return show_field_path(path, empty="the spec")
