"""LL against the threshold of one run: each explainer's mean IoU at value thresholds
0.05 ... 0.95 on the test patches, the model-free controls' and the random baseline's
curves on the same patches, and
the value chosen on the validation split (dotted) where a rule asked for one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from benchmark.report.figures.canvas import new_figure
from benchmark.run.result import RunResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def threshold_figure(result: RunResult, explainers: Sequence[str]) -> Figure:
    loc = result.localisation
    baseline = loc.baseline
    fig = new_figure(5.2, 3.6)
    ax = fig.add_subplot()
    subjects = [n for n in explainers if n in loc.explainers and n != baseline and n not in loc.controls]
    controls = [n for n in loc.controls if n in loc.explainers and n != baseline]
    names = subjects + controls + ([baseline] if baseline in loc.explainers else [])
    for i, name in enumerate(names):
        entry = loc.explainers[name]
        curve = entry.curve
        is_base, is_control = name == baseline, name in controls
        xs = [t for t, v in zip(curve.thresholds, curve.ll, strict=True) if v is not None]
        ys = [v for v in curve.ll if v is not None]
        style: dict[str, Any] = (
            {"linestyle": "--", "color": "0.45", "linewidth": 1.6}
            if is_base
            else {"linestyle": (0, (1, 1.5)), "color": f"{0.25 + 0.12 * controls.index(name):.2f}", "linewidth": 1.2}
            if is_control
            else {"linestyle": "-", "color": f"C{i}", "linewidth": 1.6}
        )
        suffix = " (chance level)" if is_base else " (control)" if is_control else ""
        (line,) = ax.plot(xs, ys, label=f"{name}" + suffix, **style)
        chosen = entry.validation.chosen if entry.validation else None
        if chosen is not None:
            ax.axvline(chosen, color=line.get_color(), linestyle=":", linewidth=1.1)
    ax.set_xlabel("value threshold")
    ax.set_ylabel(f"mean {loc.metric} (LL), test")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("LL against the threshold (dotted: chosen on validation)", fontsize=10)
    return fig
