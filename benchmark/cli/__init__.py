"""The ``cbis-bench`` command line (typer + rich): one package, one module per command,
one error wrapper (``app.py``). Nothing in the harness imports it; it imports the rest.
"""

from __future__ import annotations

import signal

from benchmark.cli import (  # noqa: F401
    bench,
    compare,
    fixture,
    plugins,
    prepare,
    report,
    run,
    runs,
    validate,
    weights,
)
from benchmark.cli.app import app


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM (``kill``, a container stopped, a scheduler's time limit) as Ctrl-C: the
    ``finally`` blocks remove what was half written (a fixture tree's ``.partial-*``
    folder, temporary files), and the message says what is kept (exit 130)."""
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _terminated)
    app()
