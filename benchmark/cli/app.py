"""The ``cbis-bench`` application: the typer app, its consoles, the options commands
share, and the one error wrapper every command goes through (:func:`command`).

A user's mistake (:class:`UserError`), a plugin that breaks its contract
(:class:`PluginOutputError`), a storage failure (disk full, read-only, no permission) or
an interruption becomes one clear message and an exit code, never a traceback. Heavy
libraries (torch, timm, pytorch-grad-cam) load only in the commands that need them, so
``--help``, ``validate`` and ``plugins`` answer quickly.
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from benchmark import __version__
from benchmark.errors import PluginOutputError, UserError

app = typer.Typer(
    name="cbis-bench",
    help="Benchmark transfer-learned CBIS-DDSM patch classifiers: accuracy, AUC and Grad-CAM lesion localisation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _console(stderr: bool) -> Console:
    """A console; when output is not a terminal (CI logs, a pipe), one as wide as
    ``COLUMNS`` says or else unbounded, so tables and messages are never cut at 80."""
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=int(os.environ.get("COLUMNS") or 0) or 1_000_000)


console = _console(stderr=False)
errors = _console(stderr=True)

HOME_ENV = "CBIS_BENCH_HOME"
#: storage failures a user fixes (disk full, quota, read-only file system, permissions): a message, not a traceback
STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def home_folder(home: Path | None) -> Path:
    return Path(home or os.environ.get(HOME_ENV) or ".cbis-bench")


def _error(message: str, hint: str | None = None) -> None:
    # messages quote user text and commands ("pip install 'cbis-bench[mlflow]'"): never read as markup
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    if hint:
        errors.print(hint, highlight=False, markup=False, soft_wrap=True)


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Print a :class:`UserError` (a plugin's broken contract, a storage failure) as a
    message and exit with its code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            _error(exc.message, exc.hint)
            raise typer.Exit(exc.exit_code) from None
        except PluginOutputError as exc:  # a plugin author's mistake: a message naming the plugin, no traceback
            _error(str(exc), "A plugin broke its kind's contract (see benchmark.api); finished runs are kept.")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            errors.print("interrupted: finished runs are kept, the interrupted one resumes from its last checkpoint")
            raise typer.Exit(130) from None
        except OSError as exc:
            if exc.errno not in STORAGE_ERRORS:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            errors.print(
                f"[bold red]error:[/] {escape(where + str(exc.strerror or exc))}",
                highlight=False,
                markup=True,
                soft_wrap=True,
            )
            errors.print(
                "Nothing half-written was kept (every file is written whole or not at all). Make room or "
                "fix the permissions, then run the command again: finished runs are kept and an interrupted "
                "one resumes from its last checkpoint.",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(2) from None

    return wrapper


def command(target: typer.Typer = app, name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a command on ``target`` (the app or a sub-app) behind :func:`user_errors`."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        target.command(name)(user_errors(fn))
        return fn

    return decorate


def _version(value: bool) -> None:
    if value:
        console.print(f"cbis-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """cbis-bench: run a spec, validate it, list plugins, make fixture data, rebuild reports."""


PluginOpt = typer.Option([], "--plugin", "-p", help="Extra plugin module to load (repeatable).")
SetOpt = typer.Option(
    [],
    "--set",
    help="KEY=VALUE: change one value of the spec, validated like the file "
    "(repeatable), e.g. --set training.max_epochs=3 --set 'matrix.seed=[0, 1]'.",
)
HomeOpt = typer.Option(None, "--home", help=f"Cache and run store folder [env {HOME_ENV}; default ./.cbis-bench].")


def load(spec_path: Path, plugins: list[str], overrides: list[str] | None = None) -> Any:
    """The spec with its ``--set`` overrides, validated with its plugins and the
    ``--plugin`` modules (which the plugin loader also finds in ``CBIS_BENCH_PLUGINS``)."""
    from benchmark.registry.loading import EXTRA_PLUGINS
    from benchmark.spec.loader import load_spec

    if plugins:
        os.environ[EXTRA_PLUGINS] = ",".join(filter(None, [os.environ.get(EXTRA_PLUGINS, ""), *plugins]))
    return load_spec(spec_path, overrides=overrides or [])
