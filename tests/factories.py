"""Typed run results for tests that need one without training: every field filled with a
plain default, the fields a test cares about given as keyword arguments (nested ones as
dicts, merged into the defaults)."""

from __future__ import annotations

import copy
from typing import Any

from benchmark.data.classes import CLASSES
from benchmark.run.result import RunResult


def _scores(ll: float | None) -> dict[str, Any]:
    return {
        "ll": ll,
        "threshold": {"rule": "value", "value": 0.5},
        "n_correct_lesions": 0,
        "n_scored": 0,
        "n_zero_maps": 0,
        "zero_map_index": [],
        "patch_index": [],
        "scores": [],
        "metrics": {},
        "curve": {"thresholds": [0.5], "ll": [ll]},
    }


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def run_result(
    *,
    label: str = "net / simultaneous / bs16 lr0.001/0.001 / seed 0",
    accuracy: float = 0.8,
    lls: dict[str, float | None] | None = None,
    **changes: Any,
) -> RunResult:
    """A complete result; ``lls`` gives each explainer's LL (``random`` is the baseline)."""
    classes = {c: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 1, "auc": 0.9} for c in CLASSES}
    averages = {a: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 5.0} for a in ("macro avg", "weighted avg")}
    base = {
        "run_id": "run0",
        "label": label,
        "spec": "fixture",
        "spec_hash": "s",
        "config": {"strategy": "simultaneous", "seed": 0, "hparams": {"batch_size": 16}},
        "axes": {},
        "data": {
            "hash": "d",
            "counts": {},
            "patches": {},
            "variant": "default",
            "validation": {"fraction": 0.15, "group_by": "patient", "stratify": True, "seed": 0, "method": "m"},
        },
        "model": {
            "backbone": "net",
            "pretrained": "none",
            "frozen_groups": 1,
            "weights_hash": "w",
            "target_layer": "t",
            "groups": [],
            "training_key": "k",
        },
        "phases": [],
        "normaliser": {"name": "dataset", "uses_labels": False, "state": {}},
        "training": {"history": [], "best_epoch": 10, "best_val_loss": 1.0, "phase_best_epochs": [10]},
        "test": {
            "n": 5,
            "accuracy": accuracy,
            "macro_f1": accuracy,
            "weighted_f1": accuracy,
            "per_class": classes,
            "averages": averages,
            "auc_average": 0.9,
            "confusion_matrix": [],
            "confusion_matrix_row_percent": [],
        },
        "localisation": {
            "metric": "iou",
            "threshold": {"rule": "value", "value": 0.5},
            "rules": {},
            "metrics": ["iou"],
            "baseline": "random",
            "explainers": {name: _scores(ll) for name, ll in (lls or {"gradcam": 0.5, "random": 0.1}).items()},
        },
        "predictions": {"patch_id": [], "label": [], "proba": []},
        "fingerprint": "f",
        "provenance": {
            "git_revision": None,
            "versions": {"torch": "x"},
            "device": "cpu",
            "seed": 0,
            "deterministic": True,
            "cublas_workspace_config": None,
            "torch_threads": 1,
        },
        "measurements": {"started": "", "seconds": {}, "memory": {}},
    }
    return RunResult.model_validate(_merge(base, changes))


#: The evaluation cut to one LL beside ``random``: no further controls, localisation or
#: faithfulness metrics, sanity tests or map agreement, one random draw per verdict. For
#: tests whose point is not the evidence (faults, resumption, selection, the CLI), so that
#: each spends its seconds on what it tests; the evidence has its own tests.
LEAN_EXPLAIN: dict[str, Any] = {
    "controls": ["random"],
    "faithfulness": {"metrics": []},
    "verdict": {"draws": 1},
    "sanity": {"enabled": False},
    "agreement": {"enabled": False},
    "localisation": {"metrics": []},
}


def lean(spec: dict[str, Any], **explain: Any) -> dict[str, Any]:
    """``spec`` (a parsed spec file, left unchanged) with :data:`LEAN_EXPLAIN` merged into
    its ``explain`` section, then ``explain`` (a test's own choices) over that."""
    return _merge(spec, {"explain": _merge(_merge(spec.get("explain", {}), LEAN_EXPLAIN), explain)})
