"""Errors that are the user's to fix: the CLI prints them without a traceback and exits 2.
A plugin that breaks its kind's contract is the plugin author's to fix: the same.

:func:`did_you_mean` is the one way every "unknown name" message suggests the closest
known names, in one format: ``Did you mean: resnet50?``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """A mistake in the user's input (spec, data tree, command line): message, exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class PluginOutputError(ValueError):
    """A plugin returned something that breaks its kind's contract. Not a UserError: in
    evaluation it fails that run alone (its training kept), as any evaluation error does."""


class UnknownNameError(UserError):
    """A name that no registered plugin of that kind provides."""


def did_you_mean(name: str, known: Iterable[str], n: int = 1) -> str:
    """`` Did you mean: a, b?`` for the closest of ``known`` (empty when none is close)."""
    close = difflib.get_close_matches(name, list(known), n=n, cutoff=0.5)
    return f" Did you mean: {', '.join(close)}?" if close else ""
