"""A grid of patches with their maps, one row per group (a gallery's category, a verdict
group): each tile the map over the image, the lesion mask's outline (green) and the
outline of the map's scored region (white, dashed). The galleries differ only in how they
group, caption and title their tiles."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from benchmark.report.figures.canvas import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PANEL = 1.9  # inches per patch


def map_grid(
    arrays: dict[str, np.ndarray],
    maps: np.ndarray,
    regions: np.ndarray,
    groups: np.ndarray,
    caption: Callable[[int], str],
    row_label: Callable[[int], str],
    *,
    caption_size: int,
    lines: tuple[float, float],
    margins: tuple[float, float],
) -> Figure:
    """Tiles of ``arrays`` (its ``images`` and ``masks``) with ``maps`` and their
    ``regions``, row by group in ``groups`` (each present group once, in order);
    ``lines`` the mask's and the region's outline widths, ``margins`` the inches added to
    the figure's width and height."""
    rows = sorted(set(groups.tolist()))
    cols = max(int((groups == g).sum()) for g in rows)
    fig = new_figure(PANEL * cols + margins[0], PANEL * len(rows) + margins[1])
    grid = fig.subplots(len(rows), cols, squeeze=False)
    for r, group in enumerate(rows):
        members = np.flatnonzero(groups == group)
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
            ax.contour(arrays["masks"][i], levels=[0.5], colors="lime", linewidths=lines[0])
            if regions[i].any():
                ax.contour(regions[i], levels=[0.5], colors="white", linewidths=lines[1], linestyles="dashed")
            ax.set_title(caption(i), fontsize=caption_size)
            if c == 0:
                ax.set_ylabel(row_label(group), fontsize=8)
    return fig
