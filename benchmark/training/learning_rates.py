"""Learning rate per depth: the head, the last block, and decay toward the input.

The study: 1e-4 for the new fully connected head, 3e-5 for the last convolutional block
(3e-4 for ResNet50 trained simultaneously), lower rates deeper in. The decay per group
toward the input is ``lr_decay`` (the study gives no factor; 0.5 by default).
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.plugin_types import LayerGroup
from benchmark.spec.schema import HParams


def per_depth(groups: Sequence[LayerGroup], frozen: int, hparams: HParams) -> dict[int, float]:
    """Learning rate of each trainable group index (frozen groups are absent)."""
    head = len(groups) - 1
    rates = {head: hparams.lr_head}
    lr = hparams.lr_last_block
    for index in range(head - 1, frozen - 1, -1):
        rates[index] = lr
        lr *= hparams.lr_decay
    return rates
