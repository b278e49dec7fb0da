"""Send a spec's finished runs to the loggers it names (``loggers:`` in the spec).

Loggers are built when ``cbis-bench run`` starts, before any training, so a missing
optional extra stops the run at once. After the report is written, each finished run of
the spec goes to each logger once, as a :class:`LoggedRun` (flat parameters, every
epoch's metrics, the final metrics, the report's figures of the run); a marker in the
run's folder (``logged.json``) remembers which loggers have which result, so a second
``cbis-bench run`` sends nothing twice, a logger added to the spec later receives the
runs that finished before it, and a run computed again (``--rerun``) is sent again. Loggers
only read results: nothing they do enters a result or a run id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmark.errors import UserError
from benchmark.files import atomic_write_json, lock
from benchmark.plugin_types import LoggedRun, Logger
from benchmark.run.result import RunResult
from benchmark.run.store import RunStore
from benchmark.spec.schema import Spec

MARKER = "logged.json"


class LoggerFailed(UserError):
    """A logger could not record a run; results and report are already written."""

    exit_code = 1


def build_loggers(spec: Spec, regs: Any, home: Path) -> list[tuple[str, Logger]]:
    """(label, logger) for each logger the spec names."""
    from benchmark.registry.calls import make_logger

    return [(ref.label(), make_logger(regs, ref, home, spec.name)) for ref in spec.loggers]


def flatten(data: Any, prefix: str = "") -> dict[str, str | int | float | bool]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists and ``None`` become their JSON text."""
    if isinstance(data, dict):
        out: dict[str, str | int | float | bool] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, (bool, int, float, str)):
        return {prefix: data}
    return {prefix: json.dumps(data, sort_keys=True, default=str)}


def _finite(values: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(float(v))}


def epoch_metrics(result: RunResult) -> list[dict[str, float]]:
    """One dict per epoch: ``epoch``, losses, accuracies and each group's learning rate."""
    out = []
    for e in result.training.history:
        values: dict[str, Any] = {
            "epoch": e.epoch,
            "train_loss": e.train_loss,
            "train_accuracy": e.train_accuracy,
            "val_loss": e.val_loss,
            "val_accuracy": e.val_accuracy,
            "phase": e.phase_index,
        }
        values.update({f"lr/{group}": lr for group, lr in e.learning_rates.items()})
        out.append(_finite(values))
    return out


def final_metrics(result: RunResult) -> dict[str, float]:
    """The test metrics and each explainer's localisation scores, flat."""
    test = result.test
    values: dict[str, Any] = {
        "test/accuracy": test.accuracy,
        "test/macro_f1": test.macro_f1,
        "test/weighted_f1": test.weighted_f1,
        "test/auc_average": test.auc_average,
        "best_epoch": result.training.best_epoch,
        "best_val_loss": result.training.best_val_loss,
    }
    for name, class_scores in test.per_class.items():
        values[f"test/f1/{name}"] = class_scores.f1
        values[f"test/auc/{name}"] = class_scores.auc
    for explainer, scores in result.localisation.explainers.items():
        values[f"ll/{explainer}"] = scores.ll
        for metric, metric_scores in scores.metrics.items():
            values[f"localisation/{explainer}/{metric}"] = metric_scores.mean
    return _finite(values)


def logged_run(result: RunResult, folder: Path, figures_dir: Path | None) -> LoggedRun:
    figures = sorted((figures_dir / result.run_id).glob("*.png")) if figures_dir is not None else []
    params = flatten(result.config) | {"run_id": result.run_id, "spec": result.spec, "label": result.label}
    return LoggedRun(
        result.spec, result.run_id, result.label, folder, params, epoch_metrics(result), final_metrics(result), figures
    )


def send(
    loggers: list[tuple[str, Logger]], results: Iterable[RunResult], store: RunStore, figures_dir: Path | None
) -> dict[str, int]:
    """Give each result to each logger that does not have it yet; returns how many runs
    each logger received. The loggers are closed at the end."""
    sent = {label: 0 for label, _ in loggers}
    try:
        for result in results:
            folder = store.run_folder(result.run_id)
            marker = folder / MARKER
            with lock(marker):  # two processes finishing one spec: one sends, the other sees the marker
                done = json.loads(marker.read_text()) if marker.exists() else {}
                for label, logger in loggers:
                    if done.get(label, {}).get("fingerprint") == result.fingerprint:
                        continue
                    try:
                        logger.log(logged_run(result, folder, figures_dir))
                    except UserError:
                        raise
                    except Exception as exc:
                        raise LoggerFailed(
                            f"logger '{label}' could not record run {result.run_id} ({result.label}): "
                            f"{type(exc).__name__}: {exc}",
                            hint="The results and the report are written; the next 'cbis-bench run' of "
                            "the spec sends the runs not yet recorded.",
                        ) from exc
                    done[label] = {
                        "fingerprint": result.fingerprint,
                        "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    }
                    atomic_write_json(marker, done)
                    sent[label] += 1
    finally:
        for _, logger in loggers:
            logger.close()
    return sent
