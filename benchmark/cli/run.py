"""``cbis-bench run SPEC``: every run of the spec's matrix (finished ones skipped,
interrupted ones resumed), then its report."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from benchmark.cli.app import HomeOpt, PluginOpt, SetOpt, command, console, home_folder, load
from benchmark.errors import UserError


def shorthand_overrides(weights: list[str], device: str | None, max_epochs: int | None) -> list[str]:
    """``--weights``, ``--device`` and ``--max-epochs`` as the ``--set`` items they stand
    for: one override mechanism, so the report's list of overrides is always complete."""
    items = []
    for item in weights:
        name, sep, file = item.partition("=")
        if not sep or not name or not file or "'" in name:
            raise UserError(f"--weights {item!r}: expected BACKBONE=FILE")
        items.append(f"training.weights['{name}']={json.dumps(str(Path(file).expanduser().resolve()))}")
    if device:
        items.append(f"training.device={device}")
    if max_epochs:
        items.append(f"training.max_epochs={max_epochs}")
    return items


@command()
def run(
    spec: Path = typer.Argument(..., help="The spec file (YAML)."),
    plugin: list[str] = PluginOpt,
    set_: list[str] = SetOpt,
    home: Path | None = HomeOpt,
    reports: Path = typer.Option(Path("reports"), help="Folder for reports/<spec name>/."),
    weights: list[str] = typer.Option(
        [],
        "--weights",
        help="BACKBONE=FILE: local pretrained weights (repeatable; "
        "short for --set \"training.weights['BACKBONE']=FILE\").",
    ),
    device: str | None = typer.Option(None, help="cpu, cuda, cuda:1 (short for --set training.device=...)."),
    max_epochs: int | None = typer.Option(None, min=1, help="Short for --set training.max_epochs=N."),
    checkpoint_every: float = typer.Option(30.0, min=0.0, help="Seconds between resume checkpoints (0: every epoch)."),
    executor: str = typer.Option("local", help="local (one run after another here) or ray (one Ray task per run)."),
    address: str | None = typer.Option(
        None, help="Ray cluster address (e.g. auto, ray://head:10001); default: start a local instance."
    ),
    rerun: bool = typer.Option(
        False, "--rerun", help="Recompute every run: forget its result and trained weights first."
    ),
) -> None:
    """Run every cell of a spec's matrix (skipping finished runs) and write its report."""
    from benchmark.devices import device_line
    from benchmark.run.spec_runs import run_spec
    from benchmark.writable import require_writable

    if executor not in ("local", "ray"):
        raise UserError(f"--executor {executor!r}: expected local or ray")
    if address and executor != "ray":
        raise UserError("--address only applies with --executor ray")
    loaded = load(spec, plugin, [*set_, *shorthand_overrides(weights, device, max_epochs)])
    require_writable({"reports folder (--reports)": reports / loaded.name, "home folder (--home)": home_folder(home)})
    console.print(
        device_line(loaded.training.device, remote=executor == "ray" and address is not None), highlight=False
    )
    if executor == "ray":  # join the cluster before the patches are prepared: a refusal is known in seconds
        from benchmark.run.ray import connect

        connect(loaded, address)
    from benchmark.cli.display import Display
    from benchmark.events import Events

    with Display(console) as display:
        report = run_spec(
            loaded,
            home_folder(home),
            reports,
            Events().subscribe(display),
            checkpoint_every_s=checkpoint_every,
            executor=executor,
            address=address,
            rerun=rerun,
        )
    console.print(f"report: {report}")
