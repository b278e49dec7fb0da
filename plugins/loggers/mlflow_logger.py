"""MLflow: one MLflow run per harness run, in an experiment named after the spec
(or ``experiment``), with the run's parameters, per-epoch metrics (step = epoch), final
metrics, the report's figures as artifacts and tags naming the spec and run id.

Without ``tracking_uri`` the store is a local ``mlruns`` folder in the harness's home
(``mlflow ui --backend-store-uri <home>/mlruns`` shows it); any tracking URI MLflow
accepts (a server, a database) can be given instead. The client is used directly, not
MLflow's global "active run", so the harness's process state is left alone.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from benchmark.api import LoggedRun
from plugins.loggers.extras import require

#: MLflow's limits: keys of letters, digits and ``_-. /``; batches of 1000 metrics and 100 params; 6000-char values
_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")
_BATCH_METRICS, _BATCH_PARAMS, _PARAM_CHARS = 1000, 100, 6000


def mlflow_key(key: str) -> str:
    """A metric or parameter name MLflow accepts (``iou@otsu`` -> ``iou_at_otsu``)."""
    return _KEY.sub("_", key.replace("@", "_at_"))


class MlflowOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracking_uri: str | None = Field(None, min_length=1)
    experiment: str | None = Field(None, min_length=1)


class MlflowLogger:
    Options = MlflowOptions

    def __init__(self, home: Path, spec: str, tracking_uri: str | None = None, experiment: str | None = None) -> None:
        require("mlflow", "mlflow", "mlflow")
        from mlflow.tracking import MlflowClient

        if tracking_uri is None:
            # MLflow 3 keeps the plain-folder store behind this switch; it is what "a local mlruns folder" means
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            tracking_uri = (Path(home).resolve() / "mlruns").as_uri()
        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.experiment = experiment or spec
        found = self.client.get_experiment_by_name(self.experiment)
        self.experiment_id = (
            found.experiment_id if found is not None else self.client.create_experiment(self.experiment)
        )

    def log(self, run: LoggedRun) -> None:
        mlrun = self.client.create_run(
            self.experiment_id, run_name=run.label, tags={"cbis_bench.spec": run.spec, "cbis_bench.run_id": run.run_id}
        )
        run_id = mlrun.info.run_id
        try:
            self._record(run_id, run)
        except BaseException:
            self.client.set_terminated(run_id, "FAILED")  # shown as failed in MLflow; the next run sends it again
            raise
        self.client.set_terminated(run_id)

    def _record(self, run_id: str, run: LoggedRun) -> None:
        from mlflow.entities import Metric, Param

        now = int(time.time() * 1000)
        params = [Param(mlflow_key(k), str(v)[:_PARAM_CHARS]) for k, v in sorted(run.params.items())]
        metrics = [
            Metric(mlflow_key(k), v, now, int(epoch["epoch"]))
            for epoch in run.epochs
            for k, v in epoch.items()
            if k != "epoch"
        ]
        last = max((int(e["epoch"]) for e in run.epochs), default=0)
        metrics += [Metric(mlflow_key(k), v, now, last) for k, v in run.metrics.items()]
        for i in range(0, len(params), _BATCH_PARAMS):
            self.client.log_batch(run_id, params=params[i : i + _BATCH_PARAMS])
        for i in range(0, len(metrics), _BATCH_METRICS):
            self.client.log_batch(run_id, metrics=metrics[i : i + _BATCH_METRICS])
        for path in run.figures:
            self.client.log_artifact(run_id, str(path), artifact_path="figures")

    def close(self) -> None:
        pass
