"""``cbis-bench report SPEC``: rebuild a spec's report from the run store."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from benchmark.cli.app import HomeOpt, PluginOpt, SetOpt, command, console, home_folder, load


@command()
def report(spec: Path = typer.Argument(..., help="The spec file (YAML)."), plugin: list[str] = PluginOpt, set_: list[str] = SetOpt,
           home: Optional[Path] = HomeOpt, reports: Path = typer.Option(Path("reports"), help="Folder for reports/<spec name>/.")) -> None:
    """Rebuild a spec's report from the run store, without training."""
    from benchmark.run.spec_runs import rebuild_report
    from benchmark.writable import require_writable

    loaded = load(spec, plugin, set_)
    require_writable({"reports folder (--reports)": reports / loaded.name})
    console.print(f"report: {rebuild_report(loaded, home_folder(home), reports)}")
