"""Training curves of one run: loss and accuracy per epoch, training and validation,
with the strategy's phases shaded and the epoch of the best validation loss marked."""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Any

from benchmark.report.figures.canvas import new_figure
from benchmark.run.result import RunResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _phases(history: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """(name, first epoch, last epoch) of each phase, in order."""
    spans: list[tuple[str, int, int]] = []
    for h in history:
        if spans and spans[-1][0] == h["phase"] and spans[-1][2] == h["epoch"] - 1:
            spans[-1] = (h["phase"], spans[-1][1], h["epoch"])
        else:
            spans.append((h["phase"], h["epoch"], h["epoch"]))
    return spans


def training_figure(result: RunResult) -> Figure:
    history = [h.model_dump() for h in result.training.history]
    best = result.training.best_epoch
    epochs = [h["epoch"] for h in history]
    phases = _phases(history)
    fig = new_figure(8.0, 3.4)
    axes = fig.subplots(1, 2, sharex=True)
    for ax, key, title in ((axes[0], "loss", "cross-entropy loss"), (axes[1], "accuracy", "accuracy")):
        for i, (_phase, first, last) in enumerate(phases):
            ax.axvspan(first - 0.5, last + 0.5, color="0.92" if i % 2 == 0 else "white", zorder=0)
            ax.text(
                (first + last) / 2,
                1.0,
                str(i + 1),
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=7,
                color="0.35",
                clip_on=False,
            )
        value = lambda v: math.nan if v is None else v  # noqa: E731 (an action phase trains nothing)
        ax.plot(epochs, [value(h[f"train_{key}"]) for h in history], marker=".", label="training")
        ax.plot(epochs, [value(h[f"val_{key}"]) for h in history], marker=".", label="validation")
        best_value = next((h[f"val_{key}"] for h in history if h["epoch"] == best), None)
        if best_value is not None:
            ax.plot(
                [best],
                [best_value],
                marker="*",
                markersize=12,
                color="crimson",
                linestyle="none",
                label=f"best epoch ({best})",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="lower right")
    legend = ",  ".join(f"{i + 1} {phase}" for i, (phase, _, _) in enumerate(phases))
    fig.suptitle("Training curves by phase: " + textwrap.fill(legend, 110), fontsize=9)
    return fig
