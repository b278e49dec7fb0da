"""A data frame as a markdown table, numbers formatted the report's way: what every
section of the report renders its tables with."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

#: columns holding counts or indices: shown without decimals
INTEGER_COLUMNS = {
    "batch",
    "seed",
    "best epoch",
    "epochs",
    "scored",
    "zero maps",
    "support",
    "train",
    "val",
    "test",
    "total",
    "count",
    "lesions",
    "patches",
}


def _fmt(value: Any, integer: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if integer and isinstance(value, (int, float)):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def md_table(frame: pd.DataFrame, index: bool = False) -> str:
    """The table as markdown, numbers formatted; a ``spec`` column shows only when the
    rows come from more than one spec."""
    if "spec" in frame.columns and frame["spec"].nunique(dropna=True) <= 1:
        frame = frame.drop(columns="spec")
    shown = frame.copy().astype(object)
    for column in shown.columns:
        shown[column] = shown[column].map(lambda v, c=column: _fmt(v, c in INTEGER_COLUMNS))
    if index:
        shown.index = shown.index.map(str)
    return shown.to_markdown(index=index, disable_numparse=True)
