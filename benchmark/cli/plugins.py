"""``cbis-bench plugins``: every registered name, its kind, where it came from and the
code that serves it; plugins that failed to load, by name."""

from __future__ import annotations

import typer
from rich.table import Table

from benchmark.cli.app import PluginOpt, command, console, errors
from benchmark.errors import UserError


@command()
def plugins(
    kind: str | None = typer.Option(None, help="Only this kind (backbone, strategy, ...)."),
    plugin: list[str] = PluginOpt,
) -> None:
    """List every registered plugin item: name, kind, origin and version. Exit 2 when a
    --plugin module cannot be loaded."""
    from benchmark.registry import KINDS
    from benchmark.registry.loading import registries

    if kind and kind not in KINDS:
        raise UserError(f"--kind {kind!r}: expected one of {', '.join(KINDS)}")
    regs = registries(plugin)
    table = Table("name", "kind", "source", "plugin", "version", "description")
    for entry in regs.entries():
        if kind in (None, entry.kind):
            table.add_row(entry.name, entry.kind, entry.source, entry.plugin, entry.provenance, entry.description)
    console.print(table)
    for failure in regs.failures:  # a plugin that loaded can still have an item refused
        what = "had an item refused" if failure.plugin in regs.plugins else "failed to load"
        errors.print(f"[yellow]plugin '{failure.plugin}' ({failure.source}) {what}:[/] {failure.error}", soft_wrap=True)
    missing = regs.failed(plugin)
    if missing:
        raise UserError(f"--plugin {missing[0].plugin}: could not be loaded ({missing[0].error.splitlines()[0]})")
