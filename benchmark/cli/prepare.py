"""``cbis-bench prepare SPEC``: the patches alone (or the cache hit), and the audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from benchmark.cli.app import HomeOpt, PluginOpt, SetOpt, command, console, home_folder, load


def print_audit(audit: Any) -> None:
    from benchmark.report.audit_section import effect_rows, summary_lines

    table = Table("effect", "preparation audit", "count")
    for effect, key, value in effect_rows(audit):
        table.add_row(effect, key, str(value), style="red" if effect == "dropped" else None)
    console.print(table)
    for line in summary_lines(audit):
        console.print(line, highlight=False)


@command()
def prepare(
    spec: Path = typer.Argument(..., help="The spec file (YAML)."),
    plugin: list[str] = PluginOpt,
    set_: list[str] = SetOpt,
    home: Path | None = HomeOpt,
) -> None:
    """Prepare (or find in the cache) the spec's patches and print the audit."""
    from rich.progress import Progress

    from benchmark.registry.loading import registries
    from benchmark.run.data import prepare_data
    from benchmark.writable import require_writable

    loaded = load(spec, plugin, set_)
    require_writable({"home folder (--home)": home_folder(home)})
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("preparing patches", total=None)
        data = prepare_data(
            loaded,
            registries(loaded.plugins),
            home_folder(home) / "cache",
            progress=lambda d, t: progress.update(task, completed=d, total=t),
        )
    print_audit(data.patches.audit)
    for warning in [*data.notes, *data.warnings]:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    counts = data.counts()
    table = Table("class", "train", "val", "test")
    for name in counts["train"]:
        table.add_row(name, *(str(counts[s][name]) for s in ("train", "val", "test")))
    console.print(table)
    console.print(
        f"{len(data.patches)} patches ({'cache hit' if data.cache_hit else 'prepared'} "
        f"in {data.seconds:.2f} s), "
        f"key {data.patches.key}"
    )
