"""After `make rehearsal`: each run's time and peak memory, and a check that the report
has every section the paper spec's report has (exit 1 naming what is missing).

Usage: python scripts/rehearsal_summary.py [REPORT_DIR]   (default reports/paper-rehearsal)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SECTIONS = (
    "## Table I. Patches per class and split",
    "## Table II. Accuracy, batch size and best epoch",
    "## Table III. One-vs-rest AUC",
    "## Table IV. Lesion localisation (LL), accuracy and Acc x LL",
    "## LL under each threshold rule",
    "## Confidence intervals",
    "## Paired comparisons on the same test set",
    "## Localisation scores beside the",
    "## Sanity check: cascading randomisation",
    "## Per-run classification reports, confusion matrices and figures",
    "## Appendix: every run and the hyperparameter selection",
    "## Data preparation audit",
    "## Provenance",
)
BACKBONES = {"vgg16", "vgg19", "resnet34", "resnet50"}
STRATEGIES = {"gradual-unfreezing", "simultaneous"}


def main(folder: Path) -> int:
    results = json.loads((folder / "results.json").read_text())
    report = (folder / "report.md").read_text()
    print(f"{'run':<64} {'train s':>8} {'total s':>8} {'peak RSS MiB':>13}")
    for r in results:
        m = r["measurements"]
        print(
            f"{r['label']:<64} {m['seconds']['train']:>8.1f} {m['seconds']['total']:>8.1f} "
            f"{m['memory']['host_peak_rss_mib']:>13.0f}"
        )
    total = sum(r["measurements"]["seconds"]["total"] for r in results)
    peak = max(r["measurements"]["memory"]["host_peak_rss_mib"] for r in results)
    print(f"{len(results)} runs: {total:.0f} s of training and evaluation, peak RSS {peak:.0f} MiB")
    problems = [f"missing section: {s}" for s in SECTIONS if s not in report]
    cells = {(r["config"]["backbone"], r["config"]["strategy"]) for r in results}
    if cells != {(b, s) for b in BACKBONES for s in STRATEGIES}:
        problems.append(f"the paper matrix is not complete: {sorted(cells)}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("reports/paper-rehearsal")))
