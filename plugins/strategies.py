"""The study's two transfer-learning strategies.

Both keep the first half of the network frozen (``benchmark.training.freezing``) and give
each trainable group its learning rate by depth (``benchmark.training.learning_rates``).

* ``gradual-unfreezing``: the head alone first, then successively deeper groups of the
  final half join, one group per phase; each phase is early-stopped and its best
  checkpoint carried into the next.
* ``simultaneous``: the head and the whole final half train together in one phase.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.api import HParams, LayerGroup, Phase, hookimpl, per_depth


def simultaneous(groups: Sequence[LayerGroup], frozen: int, hparams: HParams) -> list[Phase]:
    """Head and final half at once, one learning rate per depth."""
    return [Phase("head+final-half", per_depth(groups, frozen, hparams))]


def gradual_unfreezing(groups: Sequence[LayerGroup], frozen: int, hparams: HParams) -> list[Phase]:
    """Head first, then one more group of the final half per phase, deepest last."""
    rates = per_depth(groups, frozen, hparams)
    head = len(groups) - 1
    phases = [Phase("head", {head: rates[head]})]
    for index in range(head - 1, frozen - 1, -1):
        trainable = {i: lr for i, lr in rates.items() if i >= index}
        phases.append(Phase(f"head+{'+'.join(groups[i].name for i in range(index, head))}", trainable))
    return phases


@hookimpl
def register_strategies(register):
    register("gradual-unfreezing", gradual_unfreezing, aliases=("gradual",))
    register("simultaneous", simultaneous)
