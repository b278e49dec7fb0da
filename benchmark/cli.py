"""The ``cbis-bench`` command line (typer + rich).

Every command turns a user's mistake into one clear message and exit code 2, never a
traceback. Heavy libraries (torch, timm, pytorch-grad-cam) load only in the commands
that need them, so ``--help``, ``validate`` and ``plugins`` answer quickly.
"""

from __future__ import annotations

import errno
import functools
import os
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from benchmark import __version__
from benchmark.devices import device_line
from benchmark.errors import UserError
from benchmark.writable import require_writable

app = typer.Typer(
    name="cbis-bench",
    help="Benchmark transfer-learned CBIS-DDSM patch classifiers: accuracy, AUC and Grad-CAM lesion localisation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False)
errors = Console(stderr=True)

HOME_ENV = "CBIS_BENCH_HOME"
#: storage failures a user fixes (disk full, quota, read-only file system, permissions): a message, not a traceback
STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def _home(home: Optional[Path]) -> Path:
    return Path(home or os.environ.get(HOME_ENV) or ".cbis-bench")


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Print a :class:`UserError` as a message and exit with its code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            errors.print(f"[bold red]error:[/] {exc.message}", highlight=False, markup=True, soft_wrap=True)
            if exc.hint:
                errors.print(exc.hint, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            errors.print("interrupted: finished runs are kept, the interrupted one resumes from its last checkpoint")
            raise typer.Exit(130) from None
        except OSError as exc:
            if exc.errno not in STORAGE_ERRORS:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            errors.print(f"[bold red]error:[/] {where}{exc.strerror or exc}", highlight=False, markup=True, soft_wrap=True)
            errors.print("Nothing half-written was kept (every file is written whole or not at all). Make room or "
                         "fix the permissions, then run the command again: finished runs are kept and an interrupted "
                         "one resumes from its last checkpoint.", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        console.print(f"cbis-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version.")) -> None:
    """cbis-bench: run a spec, validate it, list plugins, make fixture data, rebuild reports."""


PluginOpt = typer.Option([], "--plugin", "-p", help="Extra plugin module to load (repeatable).")
HomeOpt = typer.Option(None, "--home", help=f"Cache and run store folder [env {HOME_ENV}; default ./.cbis-bench].")


def _load(spec_path: Path, plugins: list[str]):
    from benchmark.spec.loader import load_spec

    if plugins:
        os.environ["CBIS_BENCH_PLUGINS"] = ",".join(filter(None, [os.environ.get("CBIS_BENCH_PLUGINS", ""), *plugins]))
    return load_spec(spec_path)


def _with_overrides(spec: Any, weights: list[str], device: Optional[str], max_epochs: Optional[int]) -> Any:
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


@app.command()
@user_errors
def validate(spec: Path = typer.Argument(..., help="The spec file (YAML)."), plugin: list[str] = PluginOpt) -> None:
    """Check a spec: fields, types and plugin names. Exit 0 when valid, 2 otherwise."""
    from benchmark.runs import expand, spec_hash

    loaded = _load(spec, plugin)
    runs = expand(loaded)
    console.print(f"[green]valid[/]: {spec} (spec hash {spec_hash(loaded)}), {len(runs)} run(s)")
    axes = [a for a, on in (("normaliser", loaded.matrix.normaliser), ("patches", loaded.matrix.patches)) if on]
    table = Table("run id", "backbone", "strategy", *axes, "hparams", "seed")
    for run in runs:
        table.add_row(run.run_id, run.backbone, run.strategy, *(run.axes()[a] for a in axes), run.hparams.label(),
                      str(run.seed))
    console.print(table)
    if loaded.select is not None:
        from benchmark.selection import cells

        grouped = cells(runs, loaded.select.within)
        by = loaded.select.by.replace("_", " ")
        console.print(f"selection: in each of {len(grouped)} cell(s) ({', '.join(loaded.select.within)}), the "
                      f"hyperparameter set with the best {by} on the validation split is kept for the tables")
        cell_table = Table(" / ".join(loaded.select.within), "candidates", "hyperparameter sets")
        for values, candidates in grouped.items():
            cell_table.add_row(" / ".join(values), str(len(candidates)), "\n".join(candidates))
        console.print(cell_table)


@app.command()
@user_errors
def plugins(kind: Optional[str] = typer.Option(None, help="Only this kind (backbone, strategy, ...)."),
            plugin: list[str] = PluginOpt) -> None:
    """List every registered plugin item: name, kind and where it came from."""
    from benchmark.plugin_loading import registries
    from benchmark.registry import KINDS

    if kind and kind not in KINDS:
        raise UserError(f"--kind {kind!r}: expected one of {', '.join(KINDS)}")
    regs = registries(plugin)
    table = Table("name", "kind", "source", "plugin", "description")
    for entry in regs.entries():
        if kind in (None, entry.kind):
            table.add_row(entry.name, entry.kind, entry.source, entry.plugin, entry.description)
    console.print(table)
    for failure in regs.failures:
        errors.print(f"[yellow]plugin '{failure.plugin}' ({failure.source}) failed to load:[/] {failure.error}", soft_wrap=True)


@app.command()
@user_errors
def fixture(
    out: Path = typer.Argument(..., help="Folder to write the tree into: a new or empty one, or a tree this command "
                                         "wrote (replaced); any other folder is refused."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives a byte-identical tree."),
    images: int = typer.Option(60, min=6, help="Number of mammograms."),
    height: int = typer.Option(400, min=128, help="Mammogram height in pixels (5000 for full resolution)."),
    width: int = typer.Option(256, min=96, help="Mammogram width in pixels (3000 for full resolution)."),
    variant: str = typer.Option("clean", help="clean, or confounded (class written around the lesion, not in it)."),
    layout: str = typer.Option("kaggle", help="kaggle (csv/, jpeg/), tcia-classic or tcia-descriptive (DICOM)."),
    full_resolution: bool = typer.Option(False, "--full-resolution", help="Mammograms of about 5000 x 3000 (benchmarks)."),
) -> None:
    """Write a synthetic CBIS-DDSM-like tree (any of the three release layouts, real quirks)."""
    from rich.progress import Progress

    from benchmark.fixture import FixtureConfig, generate_tree
    from benchmark.fixture.generate import LAYOUTS

    if variant not in ("clean", "confounded"):
        raise UserError(f"--variant {variant!r}: expected clean or confounded")
    if layout not in LAYOUTS:
        raise UserError(f"--layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    if full_resolution:
        height, width = FixtureConfig.full_resolution().height, FixtureConfig.full_resolution().width
    config = FixtureConfig(seed=seed, images=images, height=height, width=width, variant=variant, layout=layout)  # type: ignore[arg-type]
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("drawing mammograms", total=images)
        generate_tree(out, config, progress=lambda done, total: progress.update(task, completed=done))
    console.print(f"wrote {images} mammograms to {out} ({layout}, seed {seed}, {height} x {width}, {variant})")


def _print_audit(audit: Any) -> None:
    from benchmark.report.audit_section import effect_rows, summary_lines

    table = Table("effect", "preparation audit", "count")
    for effect, key, value in effect_rows(audit):
        table.add_row(effect, key, str(value), style="red" if effect == "dropped" else None)
    console.print(table)
    for line in summary_lines(audit):
        console.print(line, highlight=False)


@app.command()
@user_errors
def prepare(spec: Path = typer.Argument(..., help="The spec file (YAML)."), plugin: list[str] = PluginOpt,
            home: Optional[Path] = HomeOpt) -> None:
    """Prepare (or find in the cache) the spec's patches and print the audit."""
    from rich.progress import Progress

    from benchmark.execution import prepare_data
    from benchmark.plugin_loading import registries

    loaded = _load(spec, plugin)
    require_writable({"home folder (--home)": _home(home)})
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("preparing patches", total=None)
        data = prepare_data(loaded, registries(loaded.plugins), _home(home) / "cache",
                            progress=lambda d, t: progress.update(task, completed=d, total=t))
    _print_audit(data.patches.audit)
    for warning in data.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    counts = data.counts()
    table = Table("class", "train", "val", "test")
    for name in counts["train"]:
        table.add_row(name, *(str(counts[s][name]) for s in ("train", "val", "test")))
    console.print(table)
    console.print(f"{len(data.patches)} patches ({'cache hit' if data.cache_hit else 'prepared'} in {data.seconds:.2f} s), key {data.patches.key}")


@app.command()
@user_errors
def run(
    spec: Path = typer.Argument(..., help="The spec file (YAML)."),
    plugin: list[str] = PluginOpt,
    home: Optional[Path] = HomeOpt,
    reports: Path = typer.Option(Path("reports"), help="Folder for reports/<spec name>/."),
    weights: list[str] = typer.Option([], "--weights", help="BACKBONE=FILE: local pretrained weights (repeatable)."),
    device: Optional[str] = typer.Option(None, help="Override training.device (cpu, cuda, cuda:1)."),
    max_epochs: Optional[int] = typer.Option(None, min=1, help="Override training.max_epochs."),
    checkpoint_every: float = typer.Option(30.0, min=0.0, help="Seconds between resume checkpoints (0: every epoch)."),
    executor: str = typer.Option("local", help="local (one run after another here) or ray (one Ray task per run)."),
    address: Optional[str] = typer.Option(None, help="Ray cluster address (e.g. auto, ray://head:10001); default: start a local instance."),
) -> None:
    """Run every cell of a spec's matrix (skipping finished runs) and write its report."""
    from benchmark.runner import run_spec

    if executor not in ("local", "ray"):
        raise UserError(f"--executor {executor!r}: expected local or ray")
    if address and executor != "ray":
        raise UserError("--address only applies with --executor ray")
    loaded = _with_overrides(_load(spec, plugin), weights, device, max_epochs)
    require_writable({"reports folder (--reports)": reports, "home folder (--home)": _home(home)})
    console.print(device_line(loaded.training.device, remote=executor == "ray" and address is not None), highlight=False)
    if executor == "ray":  # join the cluster before the patches are prepared: a refusal is known in seconds
        from benchmark.ray_executor import connect

        connect(loaded, address)
    report = run_spec(loaded, _home(home), reports, console, checkpoint_every_s=checkpoint_every,
                      executor=executor, address=address)
    console.print(f"report: {report}")


@app.command()
@user_errors
def report(spec: Path = typer.Argument(..., help="The spec file (YAML)."), plugin: list[str] = PluginOpt,
           home: Optional[Path] = HomeOpt, reports: Path = typer.Option(Path("reports"), help="Folder for reports/<spec name>/.")) -> None:
    """Rebuild a spec's report from the run store, without training."""
    from benchmark.runner import rebuild_report

    loaded = _load(spec, plugin)
    require_writable({"reports folder (--reports)": reports})
    console.print(f"report: {rebuild_report(loaded, _home(home), reports)}")


@app.command()
@user_errors
def compare(
    results: Path = typer.Argument(..., help="results.json of a report (reports/<spec>/results.json)."),
    baseline: Path = typer.Option(..., "--baseline", help="Golden file, e.g. tests/golden/fixture.json."),
    update: bool = typer.Option(False, "--update", help="Rewrite the golden file from RESULTS (keeps its tolerances)."),
) -> None:
    """Regression gate: exit 1 with a table of what moved beyond tolerance, 0 otherwise."""
    from benchmark import regression
    from benchmark.files import atomic_write_json

    current = regression.read_json(results, "results")
    if not isinstance(current, list) or not current:
        raise UserError(f"{results}: expected a non-empty list of run results")
    if update:
        old = regression.read_json(baseline, "golden") if baseline.exists() else {}
        atomic_write_json(baseline, regression.golden_from(current, current[0]["spec"], old.get("tolerances")))
        console.print(f"wrote {baseline} from {len(current)} run(s): review and commit the diff")
        return
    rows = regression.compare(current, regression.read_json(baseline, "golden"))
    moved = [r for r in rows if r.moved]
    if moved:
        table = Table("run", "metric", "baseline", "current", "delta", "tolerance", title="moved beyond tolerance")
        for r in moved:
            fmt = lambda v: "–" if v is None else f"{v:.4f}"  # noqa: E731
            table.add_row(r.run, r.metric, fmt(r.baseline), fmt(r.current), fmt(r.delta), f"{r.tolerance:g}")
        errors.print(table)
        errors.print(f"[bold red]regression:[/] {len(moved)} metric(s) moved beyond tolerance against {baseline}")
        raise typer.Exit(1)
    console.print(f"[green]no regression[/]: {len(rows)} metric(s) within tolerance of {baseline}")


from benchmark.bench import bench_app  # noqa: E402
from benchmark.commands.weights import weights_app  # noqa: E402

app.add_typer(bench_app)
app.add_typer(weights_app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
