"""Errors that are the user's to fix: the CLI prints them without a traceback and exits 2."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input (spec, data tree, command line): message, exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class UnknownNameError(UserError):
    """A name that no registered plugin of that kind provides."""
