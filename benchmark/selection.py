"""Hyperparameter selection (the spec's ``select``), as the study did it: several
hyperparameter sets per backbone and strategy, the best of each cell kept for the tables.

A *cell* is the runs sharing the ``within`` keys (by default backbone and strategy); a
*candidate* is one hyperparameter set of the cell (with its value on any axis not in
``within``), scored by the mean of ``by`` over its seeds: ``val_loss`` is the carried
checkpoint's validation loss (lower is better), ``val_accuracy`` that epoch's validation
accuracy (higher is better). Only the validation split decides; test numbers never do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from benchmark.run.config import RunConfig
from benchmark.run.result import RunResult
from benchmark.spec.schema import AXES, Select


def validation_score(result: RunResult, by: str) -> float | None:
    """The run's ``by`` on the validation split at its carried epoch."""
    training = result.training
    if by == "val_loss":
        value = training.best_val_loss
    else:
        carried = training.epoch(training.best_epoch)
        value = carried.val_accuracy if carried else None
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True)
class Candidate:
    key: str  # what tells it apart inside its cell: hyperparameters, axes outside ``within``
    runs: tuple[str, ...]  # run ids, one per seed
    score: float | None  # mean of the validation score over the finished runs; None if none finished
    finished: int


@dataclass(frozen=True)
class Cell:
    values: dict[str, str]  # the cell's value on each ``within`` key
    candidates: tuple[Candidate, ...]
    chosen: Candidate | None


@dataclass(frozen=True)
class Selection:
    by: str
    within: tuple[str, ...]
    cells: tuple[Cell, ...]

    def kept(self) -> set[str]:
        return {run for cell in self.cells if cell.chosen for run in cell.chosen.runs}

    def describe(self) -> str:
        return f"by {self.by.replace('_', ' ')} within {', '.join(self.within)}"


def _candidate_key(run: RunConfig, within: Sequence[str]) -> str:
    """The run's hyperparameters and its value on every varying axis outside ``within``."""
    varying = {
        "backbone": True,
        "strategy": True,
        "normaliser": run.spec.matrix.normaliser is not None,
        "patches": run.spec.matrix.patches is not None,
    }
    axes = run.axes()
    return " / ".join([run.hparams.label(), *(axes[a] for a in AXES if a not in within and varying[a])])


def cells(runs: Iterable[RunConfig], within: Sequence[str]) -> dict[tuple[str, ...], dict[str, list[RunConfig]]]:
    """Runs grouped by cell (their ``within`` values) and candidate, in matrix order."""
    out: dict[tuple[str, ...], dict[str, list[RunConfig]]] = {}
    for run in runs:
        axes = run.axes()
        cell = out.setdefault(tuple(axes[k] for k in within), {})
        cell.setdefault(_candidate_key(run, within), []).append(run)
    return out


def select(runs: Sequence[RunConfig], results: Mapping[str, RunResult], config: Select) -> Selection:
    """The chosen candidate of every cell, from the finished runs' validation scores."""
    lower_is_better = config.by == "val_loss"
    chosen_cells = []
    for values, candidates in cells(runs, config.within).items():
        scored = []
        for key, members in candidates.items():
            scores = [
                s
                for r in members
                if r.run_id in results
                if (s := validation_score(results[r.run_id], config.by)) is not None
            ]
            mean = sum(scores) / len(scores) if scores else None
            scored.append(Candidate(key, tuple(r.run_id for r in members), mean, len(scores)))
        ranked = [(c.score if lower_is_better else -c.score, c) for c in scored if c.score is not None]
        best = min(ranked, key=lambda sc: sc[0])[1] if ranked else None  # the first of the best
        chosen_cells.append(Cell(dict(zip(config.within, values, strict=True)), tuple(scored), best))
    return Selection(config.by, tuple(config.within), tuple(chosen_cells))
