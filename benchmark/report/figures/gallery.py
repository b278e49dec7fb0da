"""The saliency gallery of one run and explainer: correctly classified lesion patches
with the highest and the lowest localisation score, and the misclassified lesion patches
the model was most sure of. Each patch shows the map over the image, the lesion mask's
outline (green) and the outline of the region the LL score compares with it (white,
dashed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.data.classes import ABBREVIATIONS, CLASSES
from benchmark.evaluation.gallery import CATEGORIES
from benchmark.evaluation.thresholds import binarise
from benchmark.report.figures.map_grid import map_grid

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def gallery_figure(arrays: dict[str, np.ndarray], explainer: str, threshold: dict[str, Any], metric: str) -> Figure:
    from matplotlib.lines import Line2D

    maps = arrays["maps"].astype(np.float32)
    regions = binarise(maps, arrays["masks"], threshold)
    abbr = [ABBREVIATIONS[c] for c in CLASSES]

    def caption(i: int) -> str:
        return (
            f"true {abbr[arrays['label'][i]]}, pred {abbr[arrays['prediction'][i]]}\n"
            f"{metric} {arrays['score'][i]:.2f} · confidence {arrays['confidence'][i]:.2f}"
        )

    fig = map_grid(
        arrays,
        maps,
        regions,
        arrays["category"],
        caption,
        lambda category: CATEGORIES[category].replace(", ", ",\n"),
        caption_size=8,
        lines=(1.4, 1.1),
        margins=(0.4, 0.9),
    )
    handles = [
        Line2D([], [], color="lime", linewidth=1.4, label="lesion mask"),
        Line2D([], [], color="white", linewidth=1.1, linestyle="dashed", label="map region scored by LL"),
    ]
    legend = fig.legend(
        handles=handles, loc="outside lower center", ncols=2, fontsize=8, facecolor="0.3", labelcolor="white"
    )
    legend.get_frame().set_edgecolor("0.3")
    fig.suptitle(f"{explainer}: saliency on test lesion patches", fontsize=10)
    return fig
