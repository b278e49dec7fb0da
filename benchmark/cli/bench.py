"""``cbis-bench bench <what>``: the harness measured against a reference in the same
process and run (raw PyTorch on synthetic tensors, pure decoding, pytorch-grad-cam),
medians and the ratio. The measuring itself lives in ``benchmark/bench/``; speed targets
live here, never in the test suite."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import typer
from rich.table import Table

from benchmark.cli.app import HomeOpt, app, command, console, home_folder, load

bench_app = typer.Typer(
    name="bench", help="Measure the harness against raw references (ratios, medians).", no_args_is_help=True
)
app.add_typer(bench_app)


@command(bench_app, "train")
def bench_train(
    backbone: str = typer.Option("resnet50", help="Backbone name (any the registry knows)."),
    batch: int = typer.Option(64, min=1, help="Batch size."),
    size: int = typer.Option(224, min=16, help="Patch side in pixels."),
    steps: int = typer.Option(20, min=1, help="Optimiser steps per timed epoch."),
    repeats: int = typer.Option(5, min=1, help="Timed epochs per loop (median reported)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N."),
    deterministic: bool = typer.Option(True, help="Deterministic algorithms (the harness default)."),
    strategy: str = typer.Option("simultaneous", help="Strategy whose last phase decides what trains."),
    augment: list[str] = typer.Option([], help="On-device augmentation for the harness loop (repeatable)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the figures to this JSON file."),
    whole: str | None = typer.Option(
        None,
        help="HxW: a trained whole-image model (--whole-model) on images of "
        "that size, e.g. 1152x896, instead of patches.",
    ),
    whole_model: str = typer.Option(
        "shen", help="With --whole: the whole-image model (a registered one that trains a network)."
    ),
) -> None:
    """Training images/s: the harness's epoch against raw PyTorch on the same model, same process."""
    from benchmark.bench.train import measure
    from benchmark.errors import UserError

    shape = None
    if whole is not None:
        height, sep, width = whole.lower().partition("x")
        if not (sep and height.isdigit() and width.isdigit() and int(height) >= 32 and int(width) >= 32):
            raise UserError(f"--whole {whole!r}: expected HEIGHTxWIDTH, each at least 32 (e.g. 1152x896)")
        shape = (int(height), int(width))
    result = measure(
        backbone,
        batch,
        size,
        steps,
        repeats,
        device,
        deterministic,
        strategy,
        augment=tuple(augment),
        whole=shape,
        whole_model=whole_model,
    )
    whole_images = f" whole images ({whole_model})" if whole else ""
    table = Table(
        title=f"training throughput: {backbone}, batch {batch}, {result['size']}px{whole_images}, "
        f"{result['mode']}, {result['device']}"
    )
    table.add_column("loop")
    table.add_column("median images/s", justify="right")
    table.add_column("all repeats")
    table.add_row(
        "raw PyTorch", f"{result['raw_median']:.1f}", " ".join(f"{v:.1f}" for v in result["raw_images_per_s"])
    )
    table.add_row(
        "harness", f"{result['harness_median']:.1f}", " ".join(f"{v:.1f}" for v in result["harness_images_per_s"])
    )
    console.print(table)
    console.print(
        f"ratio harness / raw: [bold]{result['ratio']:.3f}[/] (trainable: {', '.join(result['trainable_groups'])})"
    )
    if json_out:
        json_out.write_text(json.dumps(result, indent=1))


@command(bench_app, "prepare")
def bench_prepare(
    spec: Path | None = typer.Argument(
        None,
        help="Spec whose dataset is measured [default: specs/bench-prepare.yaml, a generated full-resolution tree].",
    ),
    repeats: int = typer.Option(5, min=1, help="Timed repeats of decode and prepare (medians are reported)."),
    workers: int | None = typer.Option(None, min=1, help="Processes [default: every core]."),
    home: Path | None = HomeOpt,
) -> None:
    """Patch preparation against pure decoding of the same files, same cores, same run."""
    from benchmark.bench.prepare import GOAL_RATIO, default_spec, run_prepare_bench
    from benchmark.registry.loading import registries

    spec_path = spec or default_spec()
    loaded = load(spec_path, [])
    folder = home_folder(home)
    with console.status("") as status:
        result = run_prepare_bench(
            loaded,
            registries(loaded.plugins),
            folder / "cache",
            repeats=repeats,
            workers=workers,
            say=lambda text: status.update(f"bench prepare: {text}"),
        )
    med = statistics.median
    table = Table("measure", "median (s)", "runs (s)", title=f"bench prepare: {spec_path}")
    for name, runs in (
        ("decode only", result.decode_s),
        ("prepare", result.prepare_s),
        ("decode only, CPU time", result.decode_cpu_s),
        ("prepare, CPU time", result.prepare_cpu_s),
        ("cache hit (second preparation)", result.cache_hit_s),
    ):
        table.add_row(name, f"{med(runs):.3f}", " ".join(f"{t:.2f}" for t in runs))
    console.print(table)
    console.print(
        f"{result.mammograms} mammograms and {result.masks} masks ({result.megapixels:g} Mpixel decoded), "
        f"{result.patches} patches, {result.workers} worker process(es), {repeats} repeat(s)"
    )
    per_file = med(result.decode_cpu_s) / (result.mammograms + result.masks) * 1000
    cores = med(result.decode_cpu_s) / med(result.decode_s)
    console.print(
        f"decode: {per_file:.1f} ms of CPU per file, {cores:.1f} cores busy on average; "
        f"prepare / decode = [bold]{result.ratio:.2f}[/] wall (goal <= {GOAL_RATIO}), "
        f"{result.cpu_ratio:.2f} CPU",
        highlight=False,
    )
    out = folder / "bench" / f"prepare-{loaded.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result.to_dict(), indent=1) + "\n")
    console.print(f"figures: {out}")


@command(bench_app, "explain")
def bench_explain(
    backbone: str = typer.Option("resnet50", help="Backbone (any registered name; randomly initialised)."),
    size: int = typer.Option(224, min=32, help="Input side in pixels."),
    batch: int = typer.Option(64, min=1, help="Images per batch."),
    repeats: int = typer.Option(5, min=1, help="Timed batches per implementation (the median is reported)."),
    warmup: int = typer.Option(1, min=0, help="Untimed batches first."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N."),
    reference: str = typer.Option("gradcam", help="Reference explainer."),
    candidate: str = typer.Option("gradcam-batched", help="Explainer compared with it."),
    road_batch: int = typer.Option(8, min=0, help="Images ROAD is timed on (0: no ROAD)."),
    road_repeats: int = typer.Option(1, min=1, help="Timed ROAD passes per implementation."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the figures to this JSON file."),
) -> None:
    """LL-evaluation images/s of two Grad-CAM implementations, and ROAD's of
    pytorch-grad-cam's and the batched one, same model, inputs and maps."""
    from benchmark.bench.explain import measure

    figures = measure(
        backbone,
        size,
        batch,
        repeats,
        warmup,
        device,
        reference,
        candidate,
        road_batch=road_batch,
        road_repeats=road_repeats,
    )
    table = Table(
        "explainer",
        "images/s (median)",
        "s/batch median [min, max]",
        "zero maps",
        title=f"LL evaluation, {backbone} at {size} px, batch {batch}, {figures['device']}",
    )
    for name, row in figures["results"].items():
        table.add_row(
            name,
            f"{row['images_per_s']:,.1f}",
            f"{row['median_s']:.3f} [{row['min_s']:.3f}, {row['max_s']:.3f}]",
            f"{row['zero_maps']}/{batch}",
        )
    console.print(table)
    console.print(
        f"{candidate} / {reference}: {figures['ratio']:.2f}x; max abs difference of the maps "
        f"{figures['max_abs_diff']:.2e} (repeats {repeats}, warm-up {warmup})"
    )
    road = figures.get("road")
    if road:
        table = Table(
            "ROAD (most relevant first, 10 ... 90%)",
            "images/s (median)",
            "s (median)",
            title=f"ROAD on the {candidate} maps of {road['images']} images",
        )
        for name, row in road["results"].items():
            table.add_row(name, f"{row['images_per_s']:,.2f}", f"{row['median_s']:.3f}")
        console.print(table)
        console.print(
            f"batched / pytorch-grad-cam ROAD: {road['ratio']:.2f}x; max abs difference of the scores "
            f"{road['max_abs_diff']:.2e}",
            highlight=False,
        )
    if json_out is not None:
        json_out.write_text(json.dumps(figures, indent=1) + "\n")
