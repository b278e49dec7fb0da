"""Benchmarks, as ``cbis-bench bench <what>``.

Each benchmark measures the harness against a reference measured in the same process
and run (raw PyTorch on synthetic tensors, pure decoding, pytorch-grad-cam), and reports
medians and the ratio: timings on shared machines are noisy, ratios much less so.
Speed targets live here, never in the test suite.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Optional

import typer

bench_app = typer.Typer(name="bench", help="Measure the harness against raw references (ratios, medians).",
                        no_args_is_help=True)

DEFAULT_PREPARE_SPEC = "specs/bench-prepare.yaml"


def _default_spec(name: str) -> Path:
    from benchmark.errors import UserError

    for candidate in (Path(name), Path(__file__).resolve().parents[2] / name):
        if candidate.is_file():
            return candidate
    raise UserError(f"{name} not found", hint="Pass a spec whose dataset section names the data to measure.")


@bench_app.command("prepare")
def prepare_command(
    spec: Optional[Path] = typer.Argument(None, help=f"Spec whose dataset is measured [default: {DEFAULT_PREPARE_SPEC}, "
                                                      "a generated full-resolution tree]."),
    repeats: int = typer.Option(5, min=1, help="Timed repeats of decode and prepare (medians are reported)."),
    workers: Optional[int] = typer.Option(None, min=1, help="Processes [default: every core]."),
    home: Optional[Path] = typer.Option(None, "--home", help="Cache folder [env CBIS_BENCH_HOME; default ./.cbis-bench]."),
) -> None:
    """Patch preparation against pure decoding of the same files, same cores, same run."""
    from benchmark.cli import user_errors

    user_errors(_prepare)(spec, repeats, workers, home)


def _prepare(spec_path: Optional[Path], repeats: int, workers: Optional[int], home: Optional[Path]) -> None:
    from rich.table import Table

    from benchmark.bench.prepare import GOAL_RATIO, run_prepare_bench
    from benchmark.cli import _home, _load, console
    from benchmark.plugin_loading import registries

    spec_path = spec_path or _default_spec(DEFAULT_PREPARE_SPEC)
    spec = _load(spec_path, [])
    folder = _home(home)
    with console.status("") as status:
        result = run_prepare_bench(spec, registries(spec.plugins), folder / "cache", repeats=repeats, workers=workers,
                                   say=lambda text: status.update(f"bench prepare: {text}"))
    med = statistics.median
    table = Table("measure", "median (s)", "runs (s)", title=f"bench prepare: {spec_path}")
    for name, runs in (("decode only", result.decode_s), ("prepare", result.prepare_s),
                       ("decode only, CPU time", result.decode_cpu_s), ("prepare, CPU time", result.prepare_cpu_s),
                       ("cache hit (second preparation)", result.cache_hit_s)):
        table.add_row(name, f"{med(runs):.3f}", " ".join(f"{t:.2f}" for t in runs))
    console.print(table)
    console.print(f"{result.mammograms} mammograms and {result.masks} masks ({result.megapixels:g} Mpixel decoded), "
                  f"{result.patches} patches, {result.workers} worker process(es), {repeats} repeat(s)")
    per_file = med(result.decode_cpu_s) / (result.mammograms + result.masks) * 1000
    cores = med(result.decode_cpu_s) / med(result.decode_s)
    console.print(f"decode: {per_file:.1f} ms of CPU per file, {cores:.1f} cores busy on average; "
                  f"prepare / decode = [bold]{result.ratio:.2f}[/] wall (goal <= {GOAL_RATIO}), "
                  f"{result.cpu_ratio:.2f} CPU", highlight=False)
    out = folder / "bench" / f"prepare-{spec.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result.to_dict(), indent=1) + "\n")
    console.print(f"figures: {out}")
