"""``cbis-bench fixture DIR``: write a synthetic CBIS-DDSM-like tree."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import typer

from benchmark.cli.app import command, console
from benchmark.errors import UserError


@command()
def fixture(
    out: Path = typer.Argument(
        ...,
        help="Folder to write the tree into: a new or empty one, or a tree this command "
        "wrote (replaced); any other folder is refused.",
    ),
    seed: int = typer.Option(0, help="Random seed: the same seed gives a byte-identical tree."),
    images: int = typer.Option(60, min=6, help="Number of mammograms."),
    height: int = typer.Option(400, min=128, help="Mammogram height in pixels (5000 for full resolution)."),
    width: int = typer.Option(256, min=96, help="Mammogram width in pixels (3000 for full resolution)."),
    variant: str = typer.Option("clean", help="clean, or confounded (class written around the lesion, not in it)."),
    layout: str = typer.Option("kaggle", help="kaggle (csv/, jpeg/), tcia-classic or tcia-descriptive (DICOM)."),
    full_resolution: bool = typer.Option(
        False, "--full-resolution", help="Mammograms of about 5000 x 3000 (benchmarks)."
    ),
) -> None:
    """Write a synthetic CBIS-DDSM-like tree (any of the three release layouts, real quirks)."""
    from rich.progress import Progress

    from benchmark.fixture import FixtureConfig, generate_tree
    from benchmark.fixture.generate import LAYOUTS, Layout, Variant

    if variant not in ("clean", "confounded"):
        raise UserError(f"--variant {variant!r}: expected clean or confounded")
    if layout not in LAYOUTS:
        raise UserError(f"--layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    if full_resolution:
        height, width = FixtureConfig.full_resolution().height, FixtureConfig.full_resolution().width
    config = FixtureConfig(
        seed=seed,
        images=images,
        height=height,
        width=width,
        variant=cast(Variant, variant),
        layout=cast(Layout, layout),
    )  # both checked above
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("drawing mammograms", total=images)
        generate_tree(out, config, progress=lambda done, total: progress.update(task, completed=done))
    console.print(f"wrote {images} mammograms to {out} ({layout}, seed {seed}, {height} x {width}, {variant})")
