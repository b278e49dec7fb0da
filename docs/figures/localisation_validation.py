"""Draw docs/figures/localisation-validation.png from two finished runs of the harness.

    cbis-bench run specs/fixture.yaml --home /tmp/v
    cbis-bench run specs/confounded.yaml --home /tmp/v
    python docs/figures/localisation_validation.py --home /tmp/v

Left: LL of Grad-CAM and of random maps (95% paired-bootstrap intervals) for the
simultaneous-training run on the clean fixture and on the confounded one. Right: saliency
on correctly classified test lesion patches of each run, the two with the highest LL and
the two with the lowest (from the run's stored gallery).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmark.data.classes import ABBREVIATIONS, CLASSES
from benchmark.report.figures.canvas import new_figure, save
from benchmark.report.statistics import compute_statistics
from benchmark.run.spec_runs import collect
from benchmark.run.store import RunStore
from benchmark.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]
EXPLAINER = "gradcam-batched"
EXAMPLES = 4


def _run(home: Path, spec_name: str, strategy: str) -> tuple[dict, dict, dict]:
    spec = load_spec(ROOT / "specs" / f"{spec_name}.yaml")
    store = RunStore(home / "runs", spec.name)
    results, missing = collect(spec, store)
    if missing:
        raise SystemExit(f"run {spec_name} first: cbis-bench run specs/{spec_name}.yaml --home {home}")
    result = next(r for r in results if r["config"]["strategy"] == strategy)
    stats = compute_statistics([result], [EXPLAINER], spec.explain.baseline, spec.report.bootstrap)
    return result, stats["runs"][result["run_id"]], store.load_arrays(result["run_id"], f"gallery-{EXPLAINER}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="the --home both specs were run with")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "localisation-validation.png")
    args = parser.parse_args()
    runs = {
        "clean fixture": _run(args.home, "fixture", "simultaneous"),
        "confounded fixture": _run(args.home, "confounded", "simultaneous"),
    }

    fig = new_figure(11.5, 5.0)
    left, right = fig.subfigures(1, 2, width_ratios=[1.0, 2.1])
    ax = left.add_subplot()
    for i, (result, stats, _) in enumerate(runs.values()):
        entry = stats["localisation"][EXPLAINER]["iou"]
        base = stats["localisation"]["random"]["iou"]
        for j, (label, e, colour) in enumerate(((EXPLAINER, entry, "tab:red"), ("random maps", base, "0.6"))):
            x = i + (j - 0.5) * 0.36
            ax.bar(x, e["estimate"], width=0.34, color=colour, label=label if i == 0 else None)
            ax.errorbar(
                x,
                e["estimate"],
                yerr=[[e["estimate"] - e["low"]], [e["high"] - e["estimate"]]],
                color="k",
                capsize=4,
                linewidth=1,
            )
        ax.text(
            i,
            -0.1,
            f"accuracy {result['test']['accuracy']:.2f}",
            ha="center",
            fontsize=8,
            transform=ax.get_xaxis_transform(),
        )
    ax.set_xticks(range(len(runs)), list(runs))
    ax.set_ylabel("LL (IoU of map ≥ 0.5 with the lesion mask)")
    ax.set_ylim(0, 0.75)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("LL with 95% bootstrap intervals", fontsize=10)

    grid = right.subplots(len(runs), EXAMPLES)
    for r, (name, (_, _, arrays)) in enumerate(runs.items()):
        best, worst = (np.flatnonzero(arrays["category"] == k)[: EXAMPLES // 2] for k in (0, 1))
        for c, i in enumerate(np.concatenate([best, worst])):
            a = grid[r, c]
            a.imshow(arrays["images"][i], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            a.imshow(
                arrays["maps"][i].astype(np.float32), cmap="jet", alpha=0.4, vmin=0, vmax=1, interpolation="nearest"
            )
            a.contour(arrays["masks"][i], levels=[0.5], colors="lime", linewidths=1.3)
            a.set_xticks([])
            a.set_yticks([])
            rank = "highest" if arrays["category"][i] == 0 else "lowest"
            a.set_title(
                f"{rank} LL: {ABBREVIATIONS[CLASSES[arrays['label'][i]]]}, IoU {arrays['score'][i]:.2f}", fontsize=8
            )
            if c == 0:
                a.set_ylabel(name, fontsize=9)
    right.suptitle(f"{EXPLAINER} on correctly classified test lesions (green: lesion mask)", fontsize=10)
    save(fig, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
