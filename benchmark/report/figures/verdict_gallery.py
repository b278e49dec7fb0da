"""The per-lesion verdicts of one run and explainer, one row per group (localised and
faithful, localised only, faithful only, neither): each lesion with its map, the mask's
outline (green), the map's region the verdict scores (white, dashed), its IoU against the
strongest control's and its removal drop against the random removals'."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.evaluation.records import VERDICT_GROUPS
from benchmark.evaluation.thresholds import binarise
from benchmark.report.figures.map_grid import map_grid

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def verdict_figure(
    arrays: dict[str, np.ndarray], explainer: str, threshold: dict[str, Any], control: str | None
) -> Figure:
    maps = arrays["maps"].astype(np.float32)
    regions = binarise(maps, arrays["masks"], threshold)

    def caption(i: int) -> str:
        return (
            f"IoU {arrays['iou'][i]:.2f} vs {arrays['control_iou'][i]:.2f}\n"
            f"drop {arrays['drop_top'][i]:.2f} vs {arrays['drop_random'][i]:.2f}"
        )

    fig = map_grid(
        arrays,
        maps,
        regions,
        arrays["group"],
        caption,
        lambda group: VERDICT_GROUPS[group].replace(" and ", " and\n"),
        caption_size=7,
        lines=(1.3, 1.0),
        margins=(0.6, 0.6),
    )
    fig.suptitle(
        f"{explainer}: one verdict per lesion (IoU vs {control or 'control'}; removal drop vs random blobs)", fontsize=9
    )
    return fig
