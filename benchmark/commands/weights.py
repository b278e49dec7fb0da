"""``cbis-bench weights``: put pretrained weights where offline runs will find them.

``fetch`` builds each named backbone once with its pretrained weights, so the library's
own caches (torch hub's, Hugging Face's: ``TORCH_HOME``, ``HF_HOME``) hold them; the
Docker image runs it at build time with ``--build-arg BAKE_WEIGHTS=1``. ``check`` builds
them with downloads forbidden and says, for each, where its weights come from or which
file is missing and where to put it.
"""

from __future__ import annotations

import os

import typer
from rich.console import Console
from rich.table import Table

from benchmark.errors import UserError

weights_app = typer.Typer(name="weights", help="Fetch or check pretrained backbone weights for offline runs.",
                          no_args_is_help=True)
PAPER = ["vgg16", "vgg19", "resnet34", "resnet50"]


def _build(name: str) -> str:
    from benchmark.data.classes import CLASSES
    from benchmark.plugin_loading import registries

    return registries().get("backbone", name).obj(num_classes=len(CLASSES), pretrained=True).pretrained


@weights_app.command()
def fetch(backbones: list[str] = typer.Argument(None, help="Backbone names (default: the study's four).")) -> None:
    """Download each backbone's ImageNet weights into the usual caches."""
    console = Console()
    failed = 0
    for name in backbones or PAPER:
        try:
            console.print(f"{name}: {_build(name)}")
        except UserError as exc:
            failed += 1
            Console(stderr=True).print(f"[red]{name}:[/] {exc.message}", soft_wrap=True)
    if failed:
        raise typer.Exit(2)


@weights_app.command()
def check(backbones: list[str] = typer.Argument(None, help="Backbone names (default: the study's four).")) -> None:
    """Offline: where each backbone's weights come from, or what is missing. Exit 2 if any is."""
    os.environ["CBIS_BENCH_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    table = Table("backbone", "weights")
    missing = 0
    for name in backbones or PAPER:
        try:
            table.add_row(name, _build(name))
        except UserError as exc:
            missing += 1
            table.add_row(name, f"[red]missing[/]: {exc.message}")
    Console().print(table)
    if missing:
        raise typer.Exit(2)
