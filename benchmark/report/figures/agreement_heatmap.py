"""Run x run agreement of saliency maps: the mean SSIM between the maps of the same test
lesion patch from each pair of runs, one panel per explainer; the floor (randomly paired
different patches) is written in each cell."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from benchmark.evaluation.records import Agreement
from benchmark.report.figures.canvas import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def agreement_figure(agreement: Agreement) -> Figure:
    explainers = [e for e in agreement.explainers if any(p.explainer == e for p in agreement.pairs)]
    runs = agreement.runs
    n = len(runs)
    side = max(2.6, 0.55 * n + 1.6)
    fig = new_figure(side * len(explainers) + 0.6, side)
    axes = fig.subplots(1, len(explainers), squeeze=False)[0]
    for ax, explainer in zip(axes, explainers, strict=True):
        grid = np.full((n, n), np.nan)
        floor = np.full((n, n), np.nan)
        np.fill_diagonal(grid, 1.0)
        for p in agreement.pairs:
            if p.explainer != explainer:
                continue
            i, j = runs.index(p.a), runs.index(p.b)
            grid[i, j] = grid[j, i] = p.ssim["estimate"] if p.ssim["estimate"] is not None else np.nan
            floor[i, j] = floor[j, i] = p.floor_ssim["estimate"] if p.floor_ssim["estimate"] is not None else np.nan
        image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis")
        for i in range(n):
            for j in range(n):
                if i != j and np.isfinite(grid[i, j]):
                    ax.text(
                        j,
                        i,
                        f"{grid[i, j]:.2f}\n({floor[i, j]:.2f})",
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if grid[i, j] < 0.6 else "black",
                    )
        ax.set_xticks(range(n), runs, rotation=90, fontsize=6)
        ax.set_yticks(range(n), runs, fontsize=6)
        ax.set_title(explainer, fontsize=9)
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="mean SSIM, same patch (floor: different patches)")
    fig.suptitle("Agreement of maps between runs", fontsize=10)
    return fig
