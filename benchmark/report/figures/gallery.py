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
from benchmark.report.figures.canvas import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PANEL = 1.9  # inches per patch


def gallery_figure(arrays: dict[str, np.ndarray], explainer: str, threshold: dict[str, Any], metric: str) -> Figure:
    from matplotlib.lines import Line2D

    maps = arrays["maps"].astype(np.float32)
    regions = binarise(maps, arrays["masks"], threshold)
    rows = [c for c in range(len(CATEGORIES)) if (arrays["category"] == c).any()]
    cols = max(int((arrays["category"] == c).sum()) for c in rows)
    fig = new_figure(PANEL * cols + 0.4, PANEL * len(rows) + 0.9)
    grid = fig.subplots(len(rows), cols, squeeze=False)
    abbr = [ABBREVIATIONS[c] for c in CLASSES]
    for r, category in enumerate(rows):
        members = np.flatnonzero(arrays["category"] == category)
        for c in range(cols):
            ax = grid[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(members):
                ax.axis("off")
                continue
            i = members[c]
            ax.imshow(arrays["images"][i], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.imshow(maps[i], cmap="jet", alpha=0.4, vmin=0, vmax=1, interpolation="nearest")
            ax.contour(arrays["masks"][i], levels=[0.5], colors="lime", linewidths=1.4)
            if regions[i].any():
                ax.contour(regions[i], levels=[0.5], colors="white", linewidths=1.1, linestyles="dashed")
            ax.set_title(
                f"true {abbr[arrays['label'][i]]}, pred {abbr[arrays['prediction'][i]]}\n"
                f"{metric} {arrays['score'][i]:.2f} · confidence {arrays['confidence'][i]:.2f}",
                fontsize=8,
            )
            if c == 0:
                ax.set_ylabel(CATEGORIES[category].replace(", ", ",\n"), fontsize=8)
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
