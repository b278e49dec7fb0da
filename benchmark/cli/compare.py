"""``cbis-bench compare RESULTS --baseline GOLDEN``: the regression gate."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from benchmark.cli.app import command, console, errors


@command()
def compare(
    results: Path = typer.Argument(..., help="results.json of a report (reports/<spec>/results.json)."),
    baseline: Path = typer.Option(..., "--baseline", help="Golden file, e.g. tests/golden/fixture.json."),
    update: bool = typer.Option(False, "--update", help="Rewrite the golden file from RESULTS (keeps its tolerances)."),
) -> None:
    """Regression gate: exit 1 with a table of what moved beyond tolerance, 0 otherwise."""
    from benchmark import regression
    from benchmark.files import atomic_write_json

    current = regression.read_results(results)
    if update:
        old = regression.read_golden(baseline) if baseline.exists() else {}
        atomic_write_json(baseline, regression.golden_from(current, current[0].spec, old.get("tolerances")))
        console.print(f"wrote {baseline} from {len(current)} run(s): review and commit the diff")
        return
    rows = regression.compare(current, regression.read_golden(baseline))
    moved = [r for r in rows if r.moved]
    if moved:
        table = Table("run", "metric", "baseline", "current", "delta", "tolerance", title="moved beyond tolerance")
        for r in moved:
            fmt = lambda v: "–" if v is None else f"{v:.4f}"  # noqa: E731
            table.add_row(r.run, r.metric, fmt(r.baseline), fmt(r.current), fmt(r.delta), f"{r.tolerance:g}")
        errors.print(table)
        errors.print(f"[bold red]regression:[/] {len(moved)} metric(s) moved beyond tolerance against {baseline}")
        raise typer.Exit(1)
    console.print(f"[green]no regression[/]: {len(rows)} metric(s) within tolerance of {baseline}")
