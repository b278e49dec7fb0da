"""An explainer's own figure (``benchmark.evaluation.panels``): a grid of image tiles, each
with an optional box (yellow) and a caption, drawn as the explainer laid it out."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np

from benchmark.report.figures.canvas import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TILE = 1.7  # inches per tile
CAPTION_CHARS = 30  # a caption line that fits a tile's width at 7 points


def _wrapped(caption: str) -> str:
    """The caption in lines that fit its tile (matplotlib would run them past the edge)."""
    return "\n".join(textwrap.fill(line, CAPTION_CHARS) or line for line in caption.split("\n"))


def panel_figure(arrays: dict[str, np.ndarray], explainer: str) -> Figure:
    from matplotlib.patches import Rectangle

    images, boxes = arrays["images"], arrays["boxes"]
    cols = int(arrays["columns"])
    rows = max(1, -(-len(images) // cols))
    captions = [_wrapped(str(c)) for c in arrays["captions"]]
    lines = max((c.count("\n") + 1 for c in captions), default=1)
    fig = new_figure(TILE * cols + 0.3, (TILE + 0.12 * lines + 0.1) * rows + 0.5)
    grid = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(grid.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(images):
            ax.axis("off")
            continue
        ax.imshow(images[k], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        y0, x0, y1, x1 = (int(v) for v in boxes[k])
        if y1 > y0 >= 0 and x1 > x0 >= 0:
            ax.add_patch(
                Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="yellow", linewidth=1.4)
            )
        ax.set_title(captions[k], fontsize=7)
    fig.suptitle(f"{explainer}: {arrays['title']}", fontsize=10)
    return fig
