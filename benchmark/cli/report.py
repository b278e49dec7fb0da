"""``cbis-bench report SPEC``: rebuild a spec's report from the run store."""

from __future__ import annotations

from pathlib import Path

import typer

from benchmark.cli.app import HomeOpt, PluginOpt, SetOpt, command, console, home_folder, load


@command()
def report(
    specs: list[Path] = typer.Argument(..., help="The spec file(s) (YAML): one report over all of them."),
    plugin: list[str] = PluginOpt,
    set_: list[str] = SetOpt,
    home: Path | None = HomeOpt,
    reports: Path = typer.Option(Path("reports"), help="Folder for reports/<spec name>/."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder of a report over several specs [default: REPORTS/<name>+<name>]."
    ),
) -> None:
    """Rebuild a spec's report from the run store, without training; with several specs,
    one report over all of them (paired comparisons only where the test patches are the same)."""
    from benchmark.run.spec_runs import combined_report, rebuild_report
    from benchmark.writable import require_writable

    loaded = [load(path, plugin, set_) for path in specs]
    if len(loaded) == 1 and out is None:
        require_writable({"reports folder (--reports)": reports / loaded[0].name})
        console.print(f"report: {rebuild_report(loaded[0], home_folder(home), reports)}")
        return
    folder = out or reports / "+".join(spec.name for spec in loaded)
    require_writable({"report folder (--out)": folder})
    console.print(f"report: {combined_report(loaded, home_folder(home), folder)}")
