"""Field paths: ``matrix.hparams[0].lr_head`` <-> ``("matrix", "hparams", 0, "lr_head")``.

One grammar for the paths ``--set`` takes and the paths validation messages print: field
names joined by dots, list items as ``[N]``, and keys that are no field name (a backbone
such as ``torchvision/mobilenet_v2`` in ``training.weights``) as ``['...']``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^']+)'\]|\[\"([^\"]+)\"\]")


def parse(path: str) -> tuple[Any, ...]:
    """The parts of ``path``; a ``ValueError`` names the first character that fits no part."""
    out: list[Any] = []
    at = 0
    while at < len(path):
        match = _TOKEN.match(path, at)
        if (
            not match
            or (match.group(1) and at > 0 and not match.group(0).startswith("."))
            or (at == 0 and match.group(0).startswith("."))
        ):
            raise ValueError(f"'{path[at:]}' is not a field name (write a.b.c, a.b[0].c or a['b/c'])")
        name, index, single, double = match.groups()
        out.append(int(index) if index is not None else (name or single or double))
        at = match.end()
    if not out:
        raise ValueError("an empty field path")
    return tuple(out)


def show(path: Iterable[Any], empty: str = "(top level)") -> str:
    """``path`` written as :func:`parse` reads it."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _NAME.fullmatch(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"['{part}']"
    return out or empty
