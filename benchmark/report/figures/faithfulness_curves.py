"""ROAD's curves of one run: the drop in the predicted class's probability after removing
each share of pixels, most relevant first (MoRF) and least relevant first (LeRF), for
every explainer beside the model-free controls (dotted) and the random maps (dashed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.report.figures.canvas import new_figure
from benchmark.run.result import RunResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: the metrics drawn, and the panel title of each (those the run has)
CURVES = {
    "road-morf": "most relevant first (MoRF): higher is better",
    "road-lerf": "least relevant first (LeRF): lower is better",
}


def _panels(result: RunResult) -> list[tuple[str, str]]:
    """(metric label, title) of the curves the run has (a label may carry options:
    ``road-morf[percentiles=...]``)."""
    faith = result.faithfulness
    if faith is None:
        return []
    return [
        (label, CURVES[name])
        for name in CURVES
        for label, info in faith.metrics.items()
        if label.split("[")[0] == name and info.steps
    ][:2]


def has_curves(result: RunResult) -> bool:
    return bool(_panels(result))


def faithfulness_figure(result: RunResult) -> Figure:
    faith = result.faithfulness
    assert faith is not None
    loc = result.localisation
    panels = _panels(result)
    fig = new_figure(4.4 * len(panels), 3.6)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    controls = [n for n in loc.controls if n != loc.baseline]
    for ax, (metric, title) in zip(axes, panels, strict=True):
        steps = faith.metrics[metric].steps
        for i, (name, metrics) in enumerate(faith.explainers.items()):
            if metric not in metrics or not metrics[metric].curve:
                continue
            if name == loc.baseline:
                style = {"linestyle": "--", "color": "0.45", "linewidth": 1.5}
            elif name in controls:
                style = {
                    "linestyle": (0, (1, 1.5)),
                    "color": f"{0.25 + 0.12 * controls.index(name):.2f}",
                    "linewidth": 1.2,
                }
            else:
                style = {"linestyle": "-", "color": f"C{i}", "linewidth": 1.7}
            label = name + (" (chance level)" if name == loc.baseline else " (control)" if name in controls else "")
            ax.plot(steps, metrics[metric].curve, marker="o", markersize=2.5, label=label, **style)
        ax.set_xlabel("% of pixels removed (noisy linear imputation)")
        ax.set_ylabel("drop in the predicted class's probability")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"ROAD, {len(faith.patch_index)} correctly classified test lesions", fontsize=10)
    return fig
