"""Write ``reports/<spec>/report.md`` (with ``results.csv`` and ``results.json``) from the
stored results of a spec. Writes go to temporary files renamed into place."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from benchmark.data.audit import Audit
from benchmark.report import tables
from benchmark.report.audit_section import audit_markdown
from benchmark.spec.schema import Spec


#: columns holding counts or indices: shown without decimals
INTEGER_COLUMNS = {"batch", "seed", "best epoch", "epochs", "scored", "zero maps", "support", "train", "val", "test",
                   "total", "count"}


def _fmt(value: Any, integer: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if integer and isinstance(value, (int, float)):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def md_table(frame: pd.DataFrame, index: bool = False) -> str:
    shown = frame.copy().astype(object)
    for column in shown.columns:
        shown[column] = shown[column].map(lambda v, c=column: _fmt(v, c in INTEGER_COLUMNS))
    if index:
        shown.index = shown.index.map(str)
    return shown.to_markdown(index=index, disable_numparse=True)


def _audit_section(audit: dict[str, Any]) -> list[str]:
    return audit_markdown(audit)


def build_markdown(spec: Spec, results: Sequence[dict[str, Any]], audit: Audit | None, pending: int = 0) -> str:
    baselines = spec.report.baselines
    first = results[0]
    out = [f"# {spec.name}: transfer learning on CBIS-DDSM patches", ""]
    if spec.description:
        out += [spec.description.strip(), ""]
    leak = [r for r in results if r["normaliser"]["uses_labels"]]
    if leak:
        out += [f"> **Warning: label leak.** {len(leak)} of {len(results)} runs used the `{leak[0]['normaliser']['name']}` "
                "normaliser, which needs each patch's label at test time: their test metrics are not those of a "
                "usable classifier.", ""]
    if pending:
        out += [f"> {pending} run(s) of this spec have no result yet; the tables show the finished ones.", ""]
    validation = first["data"]["validation"]
    split_desc = validation.get("method", "")
    out += [
        "Runs: " + ", ".join(f"`{r['run_id']}` {r['label']}" for r in results), "",
        "## Table I. Patches per class and split", "",
        f"Validation: {validation['fraction']:.2f} of the official training split, {split_desc}.", "",
        md_table(tables.table_patches(first)), "",
        "## Table II. Accuracy, batch size and best epoch (test split)", "",
        md_table(tables.table_accuracy(results, baselines)), "",
        "## Table III. One-vs-rest AUC, average and per class (test split)", "",
        "B background, BC benign calcification, BM benign mass, MC malignant calcification, MM malignant mass.", "",
        md_table(tables.table_auc(results, baselines)), "",
        "## Table IV. Lesion localisation (LL), accuracy and Acc x LL", "",
        f"LL: mean IoU of the saliency map thresholded at {first['localisation']['threshold']} with the lesion mask, "
        "over correctly classified lesion patches of the test split (metric "
        f"`{first['localisation']['metric']}`). `random` is the chance level of the same score.", "",
        md_table(tables.table_localisation(results, baselines)), "",
        "Rows marked *(cited)* are published results, shown for comparison and not re-run.", "",
        "## Per-run classification reports and confusion matrices", "",
    ]
    for r in results:
        out += [f"### {r['label']} (`{r['run_id']}`)", "", md_table(tables.table_classification_report(r)), "",
                md_table(tables.table_confusion(r), index=True), ""]
    if audit is not None:
        out += _audit_section(audit.to_dict()) + [""]
    prov = first["provenance"]
    out += ["## Provenance", "",
            md_table(pd.DataFrame([{"run": r["run_id"], "fingerprint": r["fingerprint"], "seed": r["provenance"]["seed"],
                                    "deterministic": r["provenance"]["deterministic"], "device": r["provenance"]["device"],
                                    "data": r["data"]["hash"]} for r in results])), "",
            f"- spec hash: `{first['spec_hash']}`",
            f"- git revision: `{prov.get('git_revision') or 'not a git checkout'}`",
            "- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(prov["versions"].items())), ""]
    return "\n".join(out)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(spec: Spec, results: Sequence[dict[str, Any]], out_dir: Path, audit: Audit | None = None,
                 pending: int = 0) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(out_dir / "results.json", json.dumps(list(results), indent=1, sort_keys=True) + "\n")
    _write_atomic(out_dir / "results.csv", tables.results_frame(results).to_csv(index=False))
    report = out_dir / "report.md"
    _write_atomic(report, build_markdown(spec, results, audit, pending))
    return report
