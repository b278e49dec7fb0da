"""``cbis-bench run SPEC``: every run of the spec's matrix (finished ones skipped,
interrupted ones resumed), then its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from benchmark.cli.app import HomeOpt, PluginOpt, SetOpt, command, console, home_folder, load
from benchmark.errors import UserError


def with_overrides(spec: Any, weights: list[str], device: str | None, max_epochs: int | None) -> Any:
    """The spec with the command line's training settings, validated like the YAML."""
    training = spec.training
    updates: dict[str, Any] = {}
    if weights:
        pairs = dict(training.weights)
        for item in weights:
            name, sep, file = item.partition("=")
            if not sep or not name or not file:
                raise UserError(f"--weights {item!r}: expected BACKBONE=FILE")
            pairs[name] = str(Path(file).expanduser().resolve())
        updates["weights"] = pairs
    if device:
        updates["device"] = device
    if max_epochs:
        updates["max_epochs"] = max_epochs
    if not updates:
        return spec
    from benchmark.spec.loader import parse_spec

    data = spec.model_dump()
    data["training"] = training.model_dump() | updates
    return parse_spec(data, "command line")


@command()
def run(
    spec: Path = typer.Argument(..., help="The spec file (YAML)."),
    plugin: list[str] = PluginOpt,
    set_: list[str] = SetOpt,
    home: Path | None = HomeOpt,
    reports: Path = typer.Option(Path("reports"), help="Folder for reports/<spec name>/."),
    weights: list[str] = typer.Option([], "--weights", help="BACKBONE=FILE: local pretrained weights (repeatable)."),
    device: str | None = typer.Option(None, help="Override training.device (cpu, cuda, cuda:1)."),
    max_epochs: int | None = typer.Option(None, min=1, help="Override training.max_epochs."),
    checkpoint_every: float = typer.Option(30.0, min=0.0, help="Seconds between resume checkpoints (0: every epoch)."),
    executor: str = typer.Option("local", help="local (one run after another here) or ray (one Ray task per run)."),
    address: str | None = typer.Option(None, help="Ray cluster address (e.g. auto, ray://head:10001); "
                                                  "default: start a local instance."),
    rerun: bool = typer.Option(False, "--rerun",
                               help="Recompute every run: forget its result and trained weights first."),
) -> None:
    """Run every cell of a spec's matrix (skipping finished runs) and write its report."""
    from benchmark.devices import device_line
    from benchmark.run.spec_runs import run_spec
    from benchmark.writable import require_writable

    if executor not in ("local", "ray"):
        raise UserError(f"--executor {executor!r}: expected local or ray")
    if address and executor != "ray":
        raise UserError("--address only applies with --executor ray")
    loaded = with_overrides(load(spec, plugin, set_), weights, device, max_epochs)
    require_writable({"reports folder (--reports)": reports / loaded.name, "home folder (--home)": home_folder(home)})
    console.print(device_line(loaded.training.device, remote=executor == "ray" and address is not None),
                  highlight=False)
    if executor == "ray":  # join the cluster before the patches are prepared: a refusal is known in seconds
        from benchmark.run.ray import connect

        connect(loaded, address)
    report = run_spec(loaded, home_folder(home), reports, console, checkpoint_every_s=checkpoint_every,
                      executor=executor, address=address, rerun=rerun)
    console.print(f"report: {report}")
