"""The report's PNG figures, drawn with matplotlib's object API (``Figure`` + Agg canvas:
no pyplot state, no display needed) from stored results and the run store's arrays.

One module per kind: confusion-matrix heatmaps, ROC curves, training curves, the
saliency gallery. Files are written atomically and without a timestamp, so rebuilding a
report from the same store gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from benchmark.store import RunStore

FOLDER = "figures"


@dataclass(frozen=True)
class FigureFile:
    caption: str
    path: str  # relative to the report folder


def run_figures(result: dict[str, Any], explainers: Sequence[str], store: RunStore | None, out_dir: Path) -> list[FigureFile]:
    """Draw one run's figures under ``out_dir/figures/<run id>/``; return them in order.
    Gallery arrays missing from the store (an older run) are skipped."""
    from benchmark.report.figures.canvas import save
    from benchmark.report.figures.confusion import confusion_figure
    from benchmark.report.figures.gallery import gallery_figure
    from benchmark.report.figures.roc import roc_figure
    from benchmark.report.figures.training_curves import training_figure

    run_id = result["run_id"]
    folder = out_dir / FOLDER / run_id
    drawn = [("confusion matrix", "confusion.png", confusion_figure(result)),
             ("ROC curves", "roc.png", roc_figure(result)),
             ("training curves", "training.png", training_figure(result))]
    loc = result["localisation"]
    for name in explainers:
        arrays = store.load_arrays(run_id, f"gallery-{name}") if store is not None else None
        if arrays is not None and len(arrays["category"]):
            drawn.append((f"saliency gallery, {name}", f"gallery-{name}.png",
                          gallery_figure(arrays, name, loc["threshold"], loc["metric"])))
    out = []
    for caption, file, fig in drawn:
        save(fig, folder / file)
        out.append(FigureFile(caption, f"{FOLDER}/{run_id}/{file}"))
    return out
