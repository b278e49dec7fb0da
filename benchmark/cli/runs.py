"""``cbis-bench runs [SPEC ...]``: what the run store holds, each run's state, metrics,
age and size; ``--prune`` lists (and with ``--yes`` removes) what no named spec uses."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from benchmark.cli.app import HomeOpt, PluginOpt, SetOpt, command, console, home_folder, load


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


@command()
def runs(
    specs: list[Path] = typer.Argument(None, help="Specs whose runs to show (default: every run in the store)."),
    plugin: list[str] = PluginOpt,
    set_: list[str] = SetOpt,
    home: Path | None = HomeOpt,
    prune: bool = typer.Option(
        False,
        "--prune",
        help="List what no named spec uses (runs, trained weights) and cache "
        "entries unused for --older-than days; remove them with --yes.",
    ),
    yes: bool = typer.Option(False, "--yes", help="With --prune: remove what is listed."),
    older_than: float = typer.Option(
        30.0, "--older-than", min=0.0, help="With --prune: days a cache entry may go unused before it is pruned."
    ),
) -> None:
    """Every run in the store (or of the given specs, with the --set they ran with): state,
    key metrics, age and size."""
    from benchmark.run.inventory import prune_plan, remove, spec_states, stored_states

    folder = home_folder(home)
    loaded = [load(path, plugin, set_) for path in specs or []]  # a run made with --set is its spec's with --set
    if prune:
        plan = prune_plan(folder, loaded, older_than)
        table = Table("remove", "why", "size")
        for item in plan:
            table.add_row(str(item.path), item.what, _size(item.size_bytes))
        console.print(table)
        total = _size(sum(item.size_bytes for item in plan))
        if not yes:
            console.print(f"dry run: {len(plan)} item(s), {total}; nothing removed (add --yes to remove them)")
            return
        done = remove(plan)
        console.print(
            f"removed {len(done)} of {len(plan)} item(s) ({_size(sum(i.size_bytes for i in done))})"
            + ("; the others are in use by another process" if len(done) < len(plan) else "")
        )
        return
    states = [s for spec in loaded for s in spec_states(spec, folder)] if loaded else stored_states(folder)
    table = Table("spec", "run", "label", "state", "accuracy", "AUC", "LL", "age (days)", "size")
    for s in states:
        table.add_row(
            s.spec,
            s.run_id,
            s.label,
            s.state + (f": {s.message}" if s.message else ""),
            _number(s.accuracy),
            _number(s.auc),
            _number(s.ll),
            "–" if s.age_days is None else f"{s.age_days:.1f}",
            _size(s.size_bytes),
        )
    console.print(table)
    counts: dict[str, int] = {}
    for s in states:
        key = "interrupted" if s.state.startswith("interrupted") else s.state
        counts[key] = counts.get(key, 0) + 1
    console.print(
        f"{len(states)} run(s): " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        if states
        else f"no run in {folder / 'runs'}"
    )
