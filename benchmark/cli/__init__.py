"""The ``cbis-bench`` command line (typer + rich): one package, one module per command,
one error wrapper (``app.py``). Nothing in the harness imports it; it imports the rest.
"""

from __future__ import annotations

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


def main() -> None:
    app()
