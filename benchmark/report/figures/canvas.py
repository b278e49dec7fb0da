"""A figure on the Agg canvas and an atomic, reproducible PNG writer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.files import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 110


def new_figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas (whatever backend the user's matplotlib defaults to)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path) -> Path:
    """Write a PNG atomically, without the metadata that would change between builds."""
    return atomic_write(path, lambda fh: fig.savefig(fh, format="png", metadata={"Software": None}))
