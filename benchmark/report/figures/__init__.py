"""The report's PNG figures, drawn with matplotlib's object API (``Figure`` + Agg canvas:
no pyplot state, no display needed) from stored results and the run store's arrays.

One module per kind: confusion-matrix heatmaps, ROC curves, training curves, the
saliency gallery, ROAD curves, the per-lesion verdicts, the run x run agreement. Files are
written atomically and without a timestamp, so rebuilding a report from the same store gives
the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmark.files import atomic_write_json
from benchmark.hashing import stable_hash
from benchmark.run.result import RunResult
from benchmark.run.store import RunStore

FOLDER = "figures"
#: bump when a figure's drawing changes, so stored figures are redrawn
FIGURES_VERSION = 4
STAMP = "figures.json"


@dataclass(frozen=True)
class FigureFile:
    caption: str
    path: str  # relative to the report folder


def run_figures(
    result: RunResult, explainers: Sequence[str], store: RunStore | None, out_dir: Path
) -> list[FigureFile]:
    """Draw one run's figures under ``out_dir/figures/<run id>/``; return them in order.
    Gallery arrays missing from the store (an older run) are skipped."""
    from benchmark.report.figures.canvas import save
    from benchmark.report.figures.confusion import confusion_figure
    from benchmark.report.figures.faithfulness_curves import faithfulness_figure, has_curves
    from benchmark.report.figures.gallery import gallery_figure
    from benchmark.report.figures.panel import panel_figure
    from benchmark.report.figures.roc import roc_figure
    from benchmark.report.figures.threshold_curve import threshold_figure
    from benchmark.report.figures.training_curves import training_figure
    from benchmark.report.figures.verdict_gallery import verdict_figure

    run_id = result.run_id
    folder = out_dir / FOLDER / run_id
    key = stable_hash(
        {
            "run": run_id,
            "fingerprint": result.fingerprint,
            "weights": result.model.weights_hash,
            "explainers": list(explainers),
            "version": FIGURES_VERSION,
        }
    )
    reused = _reuse(folder, key, out_dir)
    if reused is not None:  # the same result drew these already: rebuilding a report stays quick
        return reused
    drawn = [
        ("confusion matrix", "confusion.png", confusion_figure(result)),
        ("ROC curves", "roc.png", roc_figure(result)),
        ("training curves", "training.png", training_figure(result)),
    ]
    if result.localisation.explainers:
        drawn.append(("LL against the threshold", "threshold.png", threshold_figure(result, explainers)))
    loc = result.localisation
    for name in explainers:
        arrays = store.load_arrays(run_id, f"gallery-{name}") if store is not None else None
        if arrays is not None and len(arrays["category"]):
            drawn.append(
                (
                    f"saliency gallery, {name}",
                    f"gallery-{name}.png",
                    gallery_figure(arrays, name, loc.explainers[name].threshold, loc.metric),
                )
            )
    if has_curves(result):
        drawn.append(
            (
                "ROAD curves: the drop in the predicted class's probability as pixels are removed",
                "faithfulness.png",
                faithfulness_figure(result),
            )
        )
    all_verdicts = result.verdicts
    for name in explainers:
        arrays = store.load_arrays(run_id, f"verdicts-{name}") if store is not None else None
        verdicts = all_verdicts.explainers.get(name) if all_verdicts is not None else None
        if arrays is not None and all_verdicts is not None and verdicts is not None and len(arrays["group"]):
            drawn.append(
                (
                    f"one verdict per lesion, {name}",
                    f"verdicts-{name}.png",
                    verdict_figure(arrays, name, all_verdicts.threshold, verdicts.control),
                )
            )
    for array_name in loc.panels:  # figures an explainer drew of its own model
        arrays = store.load_arrays(run_id, array_name) if store is not None else None
        if arrays is not None and len(arrays["images"]):
            explainer = array_name.removeprefix("panel-").rsplit("-", 1)[0]
            drawn.append((f"{arrays['title']}, {explainer}", f"{array_name}.png", panel_figure(arrays, explainer)))
    out = []
    for caption, file, fig in drawn:
        save(fig, folder / file)
        out.append(FigureFile(caption, f"{FOLDER}/{run_id}/{file}"))
    atomic_write_json(folder / STAMP, {"key": key, "figures": [asdict(f) for f in out]})
    return out


def prune_run_figures(out_dir: Path, run_ids: set[str]) -> list[Path]:
    """Remove the figure folders of runs this report no longer shows (a run whose id
    changed, a spec edited), so a report folder holds its own figures only."""
    import shutil

    gone = [p for p in (out_dir / FOLDER).glob("*") if p.is_dir() and (p / STAMP).exists() and p.name not in run_ids]
    for folder in gone:
        shutil.rmtree(folder)
    return gone


def _reuse(folder: Path, key: str, out_dir: Path) -> list[FigureFile] | None:
    try:
        stamp = json.loads((folder / STAMP).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    figures = [FigureFile(**f) for f in stamp.get("figures", [])]
    if stamp.get("key") != key or not all((out_dir / f.path).is_file() for f in figures):
        return None
    return figures


def agreement_figures(agreement: Any, out_dir: Path) -> list[FigureFile]:
    """The run x run agreement heatmap of the report (none without a pair of runs)."""
    from benchmark.report.figures.agreement_heatmap import agreement_figure
    from benchmark.report.figures.canvas import save

    path = out_dir / FOLDER / "agreement.png"
    if agreement is None or not agreement.pairs:
        path.unlink(missing_ok=True)
        return []
    save(agreement_figure(agreement), path)
    return [FigureFile("agreement of maps between runs (SSIM)", f"{FOLDER}/agreement.png")]
