"""``cbis-bench weights``: put pretrained weights where offline runs will find them.

``fetch`` builds each named backbone once with its pretrained weights, so the library's
own caches (torch hub's, Hugging Face's: ``TORCH_HOME``, ``HF_HOME``) hold them; the
Docker image runs it at build time with ``--build-arg BAKE_WEIGHTS=1``. ``check`` builds
them with downloads forbidden and says, for each, where its weights come from or which
file is missing and where to put it.

Without a network, ``fetch`` would wait on the libraries' retries for minutes per backbone;
it first probes the download hosts (a few seconds), and when none answers it prints
``check``'s table (what is already here, which file to place where) and exits 2 at once.
"""

from __future__ import annotations

import os

import typer
from rich.console import Console
from rich.table import Table

from benchmark.cli.app import app, command
from benchmark.errors import UserError

weights_app = typer.Typer(
    name="weights", help="Fetch or check pretrained backbone weights for offline runs.", no_args_is_help=True
)
app.add_typer(weights_app)
PAPER = ["vgg16", "vgg19", "resnet34", "resnet50"]


def _build(name: str) -> str:
    from benchmark.data.classes import CLASSES
    from benchmark.registry.calls import build_backbone
    from benchmark.registry.loading import registries

    return build_backbone(registries(), name, num_classes=len(CLASSES), pretrained=True).pretrained


def _check_table(names: list[str]) -> int:
    """Print, with downloads forbidden, where each backbone's weights come from; return how many are missing."""
    os.environ["CBIS_BENCH_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    table = Table("backbone", "weights")
    missing = 0
    for name in names:
        try:
            table.add_row(name, _build(name))
        except UserError as exc:
            missing += 1
            table.add_row(name, f"[red]missing[/]: {exc.message}")
    Console().print(table)
    return missing


@command(weights_app)
def fetch(backbones: list[str] = typer.Argument(None, help="Backbone names (default: the study's four).")) -> None:
    """Download each backbone's ImageNet weights into the usual caches."""
    from benchmark.models import weights as local

    names = backbones or PAPER
    console, errors = Console(), Console(stderr=True)
    down = local.unreachable_hosts()
    if len(down) == len(local.download_hosts()):
        hosts = ", ".join(url for url, _ in down.values())
        errors.print(
            f"[red]no network:[/] {hosts} did not answer within {local.PROBE_TIMEOUT_S:g} s, so no download "
            "was tried. Where each backbone's weights stand:",
            soft_wrap=True,
        )
        if _check_table(names):
            errors.print(
                "Put each missing file where its row says (or build the image with the files in ./weights/), "
                "then check with: cbis-bench weights check",
                soft_wrap=True,
            )
            raise typer.Exit(2)
        console.print("every backbone's weights are already here")
        return
    for url, offline_env in down.values():  # fail fast on the host that is down, download from the other
        errors.print(
            f"[yellow]{url} did not answer:[/] its weights are taken from the local files and caches only",
            soft_wrap=True,
        )
        os.environ[offline_env] = "1"
    failed = 0
    for name in names:
        try:
            console.print(f"{name}: {_build(name)}")
        except UserError as exc:
            failed += 1
            errors.print(f"[red]{name}:[/] {exc.message}", soft_wrap=True)
    if failed:
        raise typer.Exit(2)


@command(weights_app)
def check(backbones: list[str] = typer.Argument(None, help="Backbone names (default: the study's four).")) -> None:
    """Offline: where each backbone's weights come from, or what is missing. Exit 2 if any is."""
    if _check_table(backbones or PAPER):
        raise typer.Exit(2)
