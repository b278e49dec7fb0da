"""``cbis-bench validate SPEC``: fields, types, plugin names and options; the runs and
their ids; each selection cell with its hyperparameter sets."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from benchmark.cli.app import PluginOpt, SetOpt, command, console, load


@command()
def validate(
    spec: Path = typer.Argument(..., help="The spec file (YAML)."),
    plugin: list[str] = PluginOpt,
    set_: list[str] = SetOpt,
    show: bool = typer.Option(False, "--show", help="Also print the resolved spec (defaults, --set applied)."),
) -> None:
    """Check a spec: fields, types and plugin names. Exit 0 when valid, 2 otherwise."""
    from benchmark.run.config import expand, spec_hash

    loaded = load(spec, plugin, set_)
    if show:
        import yaml

        console.print(yaml.safe_dump(loaded.model_dump(mode="json"), sort_keys=False), highlight=False, markup=False)
    runs = expand(loaded)
    console.print(f"[green]valid[/]: {spec} (spec hash {spec_hash(loaded)}), {len(runs)} run(s)")
    axes = [a for a, on in (("normaliser", loaded.matrix.normaliser), ("patches", loaded.matrix.patches)) if on]
    table = Table("run id", "backbone", "strategy", *axes, "hparams", "seed")
    for run in runs:
        table.add_row(
            run.run_id, run.backbone, run.strategy, *(run.axes()[a] for a in axes), run.hparams.label(), str(run.seed)
        )
    console.print(table)
    if loaded.select is not None:
        from benchmark.selection import cells

        grouped = cells(runs, loaded.select.within)
        by = loaded.select.by.replace("_", " ")
        console.print(
            f"selection: in each of {len(grouped)} cell(s) ({', '.join(loaded.select.within)}), the "
            f"hyperparameter set with the best {by} on the validation split is kept for the tables"
        )
        cell_table = Table(" / ".join(loaded.select.within), "candidates", "hyperparameter sets")
        for values, candidates in grouped.items():
            cell_table.add_row(" / ".join(values), str(len(candidates)), "\n".join(candidates))
        console.print(cell_table)
