"""One-vs-rest ROC curves of one run, one per class, with each class's AUC."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from benchmark.data.classes import ABBREVIATIONS, CLASSES
from benchmark.report.figures.canvas import new_figure
from benchmark.run.result import RunResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def roc_figure(result: RunResult) -> Figure:
    from sklearn.metrics import RocCurveDisplay

    labels = np.asarray(result.predictions.label)
    proba = np.asarray(result.predictions.proba, dtype=float)
    fig = new_figure(4.6, 4.2)
    ax = fig.add_subplot()
    drawn = 0
    for k, name in enumerate(CLASSES):
        auc = result.test.per_class[name].auc
        if auc is None:  # the class is absent (or alone) in the test set: no curve
            continue
        RocCurveDisplay.from_predictions(
            labels == k,
            proba[:, k],
            name=ABBREVIATIONS[name],
            ax=ax,
            plot_chance_level=drawn == 0,
            curve_kwargs={"linewidth": 1.6},
        )
        drawn += 1
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    average = result.test.auc_average
    ax.set_title(
        "One-vs-rest ROC (test)" + (f", average AUC {average:.3f}" if average is not None else ""), fontsize=10
    )
    ax.legend(loc="lower right", fontsize=8)
    ax.set_aspect("equal")
    return fig
