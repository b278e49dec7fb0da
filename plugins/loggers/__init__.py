"""Experiment loggers: where a spec's finished runs are also recorded, beside a lab's own
experiments. Each needs an optional extra (``pip install 'cbis-bench[tensorboard]'`` or
``'cbis-bench[mlflow]'``); a spec naming one without it stops with a message saying
which to install."""

from __future__ import annotations

from benchmark.api import hookimpl
from plugins.loggers.mlflow_logger import MlflowLogger
from plugins.loggers.tensorboard_logger import TensorBoardLogger

__all__ = ["MlflowLogger", "TensorBoardLogger"]


@hookimpl
def register_loggers(register):
    register(
        "tensorboard",
        TensorBoardLogger,
        description="TensorBoard event files next to each run (runs/<spec>/<run id>/tensorboard)",
    )
    register(
        "mlflow",
        MlflowLogger,
        description="an MLflow run per harness run; a local mlruns folder unless tracking_uri is given",
    )
