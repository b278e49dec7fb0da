"""Benchmarks, as ``cbis-bench bench <what>``.

Each benchmark measures the harness against a reference measured in the same process
and run (raw PyTorch on synthetic tensors, pure decoding, pytorch-grad-cam), and reports
medians and the ratio: timings on shared machines are noisy, ratios much less so.
Speed targets live here, never in the test suite.
"""

from __future__ import annotations

import typer

bench_app = typer.Typer(name="bench", help="Measure the harness against raw references (ratios, medians).",
                        no_args_is_help=True)


def _register() -> None:
    """Each benchmark module exposes ``command``; its heavy imports stay inside it."""
    from benchmark.bench import explain, prepare, train

    bench_app.command("train")(train.command)
    bench_app.command("prepare")(prepare.command)
    bench_app.command("explain")(explain.command)


_register()
