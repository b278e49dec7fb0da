"""The message a logger gives when its optional extra is not installed."""

from __future__ import annotations

import importlib.util

from benchmark.api import UserError


def require(module: str, extra: str, logger: str) -> None:
    """Raise a ``UserError`` (exit 2) naming the extra when ``module`` cannot be imported."""
    if importlib.util.find_spec(module) is None:
        raise UserError(
            f"logger '{logger}' needs the '{module}' package, which is not installed",
            hint=f"Install it with: pip install 'cbis-bench[{extra}]'",
        )
