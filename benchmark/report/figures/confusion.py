"""Confusion-matrix heatmap of one run: coloured by row percentage (recall per class),
annotated with counts and percentages, as the study shows it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from benchmark.data.classes import ABBREVIATIONS, CLASSES
from benchmark.report.figures.canvas import new_figure
from benchmark.run.result import RunResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def confusion_figure(result: RunResult) -> Figure:
    from sklearn.metrics import ConfusionMatrixDisplay

    counts = np.asarray(result.test.confusion_matrix)
    percent = np.asarray(result.test.confusion_matrix_row_percent, dtype=float)
    fig = new_figure(4.6, 3.9)
    ax = fig.add_subplot()
    display = ConfusionMatrixDisplay(percent, display_labels=[ABBREVIATIONS[c] for c in CLASSES])
    display.plot(ax=ax, cmap="Blues", colorbar=False, values_format=".0f", im_kw={"vmin": 0, "vmax": 100})
    for (i, j), text in np.ndenumerate(display.text_):
        text.set_text(f"{counts[i, j]}\n{percent[i, j]:.0f}%")
        text.set_fontsize(8)
    fig.colorbar(display.im_, ax=ax, label="% of the true class", shrink=0.85)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"Confusion matrix (test, n = {counts.sum()})", fontsize=10)
    return fig
