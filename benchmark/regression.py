"""The regression gate: compare a spec's results with a committed golden file.

The golden file holds, per run (matched by its label: backbone / strategy / hparams /
seed), the headline metrics, and one tolerance per metric. A metric that moved beyond
its tolerance, a run that disappeared or appeared, fails the gate. The golden file
changes only through ``cbis-bench compare ... --update``, so a reviewer sees every change
of the reference numbers in the diff.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.errors import UserError
from benchmark.run.result import RunResult, parse_result

#: about two test patches of the fixture for accuracy; wider than run-to-run noise on one
#: machine (zero), narrow enough to catch a change that alters what the harness computes
DEFAULT_TOLERANCES = {"accuracy": 0.06, "macro_f1": 0.08, "auc_average": 0.04, "best_epoch": 4, "ll.*": 0.06}


def key_metrics(result: RunResult) -> dict[str, float | None]:
    """The headline numbers of one run result."""
    out: dict[str, float | None] = {
        "accuracy": result.test.accuracy,
        "macro_f1": result.test.macro_f1,
        "auc_average": result.test.auc_average,
        "best_epoch": result.training.best_epoch,
    }
    for name, scores in sorted(result.localisation.explainers.items()):
        out[f"ll.{name}"] = scores.ll
    return out


def tolerance(tolerances: dict[str, float], metric: str) -> float:
    if metric in tolerances:
        return tolerances[metric]
    family = metric.split(".")[0] + ".*"
    return tolerances.get(family, 0.0)


@dataclass(frozen=True)
class Row:
    run: str
    metric: str
    baseline: float | None
    current: float | None
    tolerance: float

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def moved(self) -> bool:
        if self.baseline is None or self.current is None:
            return self.baseline is not self.current
        return abs(self.current - self.baseline) > self.tolerance + 1e-12 or math.isnan(self.current)


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: a folder, not a {what} file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a {what} file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None


def read_golden(path: Path) -> dict[str, Any]:
    """A golden file: ``{"runs": {label: {metric: value}}, "tolerances": {metric: tolerance}}``
    (anything else is a message naming the file and what it holds instead)."""
    data = read_json(path, "golden")
    runs = data.get("runs") if isinstance(data, dict) else None
    tolerances = data.get("tolerances", {}) if isinstance(data, dict) else None
    if (
        not isinstance(runs, dict)
        or not all(isinstance(m, dict) for m in runs.values())
        or not isinstance(tolerances, dict)
        or not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in tolerances.values())
    ):
        raise UserError(
            f'{path}: not a golden file (expected {{"runs": {{label: {{metric: value}}}}, "tolerances": '
            f"{{metric: number}}}}, got {type(data).__name__} {json.dumps(data)[:80]})",
            hint="Write one from a results.json with: cbis-bench compare RESULTS --baseline GOLDEN --update",
        )
    return data


def read_results(path: Path) -> list[RunResult]:
    """A report's ``results.json`` as typed results (a damaged or old one is a message)."""
    data = read_json(path, "results")
    if not isinstance(data, list) or not data:
        raise UserError(f"{path}: expected a non-empty list of run results")
    return [parse_result(item, f"{path} (run {i + 1})") for i, item in enumerate(data)]


def compare(results: Iterable[RunResult], golden: dict[str, Any]) -> list[Row]:
    """Every metric of every run, current against golden; missing runs compare against None."""
    current = {r.label: key_metrics(r) for r in results}
    tolerances = golden.get("tolerances", DEFAULT_TOLERANCES)
    rows = []
    for label in sorted(set(current) | set(golden.get("runs", {}))):
        base, now = golden.get("runs", {}).get(label), current.get(label)
        if base is None or now is None:
            rows.append(Row(label, "(run)", None if base is None else 1.0, None if now is None else 1.0, 0.0))
            continue
        for metric in sorted(set(base) | set(now)):
            rows.append(Row(label, metric, base.get(metric), now.get(metric), tolerance(tolerances, metric)))
    return rows


def golden_from(results: Iterable[RunResult], spec: str, tolerances: dict[str, float] | None = None) -> dict[str, Any]:
    results = list(results)
    prov = results[0].provenance if results else None
    return {
        "spec": spec,
        "tolerances": tolerances or DEFAULT_TOLERANCES,
        "recorded_with": {
            "device": prov.device if prov else None,
            "torch": prov.versions.get("torch") if prov else None,
        },
        "runs": {r.label: key_metrics(r) for r in results},
    }
