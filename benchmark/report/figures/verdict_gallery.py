"""The per-lesion verdicts of one run and explainer, one row per group (localised and
faithful, localised only, faithful only, neither): each lesion with its map, the mask's
outline (green), the map's region the verdict scores (white, dashed), its IoU against the
strongest control's and its removal drop against the random removals'."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.evaluation.records import VERDICT_GROUPS
from benchmark.evaluation.thresholds import binarise
from benchmark.report.figures.canvas import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PANEL = 1.9


def verdict_figure(
    arrays: dict[str, np.ndarray], explainer: str, threshold: dict[str, Any], control: str | None
) -> Figure:
    maps = arrays["maps"].astype(np.float32)
    regions = binarise(maps, arrays["masks"], threshold)
    rows = [g for g in range(len(VERDICT_GROUPS)) if (arrays["group"] == g).any()]
    cols = max(int((arrays["group"] == g).sum()) for g in rows)
    fig = new_figure(PANEL * cols + 0.6, PANEL * len(rows) + 0.6)
    grid = fig.subplots(len(rows), cols, squeeze=False)
    for r, group in enumerate(rows):
        members = np.flatnonzero(arrays["group"] == group)
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
            ax.contour(arrays["masks"][i], levels=[0.5], colors="lime", linewidths=1.3)
            if regions[i].any():
                ax.contour(regions[i], levels=[0.5], colors="white", linewidths=1.0, linestyles="dashed")
            ax.set_title(
                f"IoU {arrays['iou'][i]:.2f} vs {arrays['control_iou'][i]:.2f}\n"
                f"drop {arrays['drop_top'][i]:.2f} vs {arrays['drop_random'][i]:.2f}",
                fontsize=7,
            )
            if c == 0:
                ax.set_ylabel(VERDICT_GROUPS[group].replace(" and ", " and\n"), fontsize=8)
    fig.suptitle(
        f"{explainer}: one verdict per lesion (IoU vs {control or 'control'}; removal drop vs random blobs)", fontsize=9
    )
    return fig
