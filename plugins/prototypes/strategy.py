"""The ``protopnet`` strategy: ProtoPNet's training as its authors describe it.

1. warm-up: the add-on layers and prototypes alone (the backbone and last layer frozen);
2. joint: the backbone's trainable groups (the core's frozen half stays frozen unless
   ``train_all_features``; the last feature group at ``lr_features`` if given, earlier
   ones decaying from it), add-on layers and prototypes, each at its own rate, for
   ``joint_epochs``;
3. push: every prototype projected onto its nearest training feature of its own class
   (a phase action: its weights are carried on, so what is evaluated is pushed);
4. last layer: the last layer alone, with the L1 penalty on wrong-class connections.

Warm-up and joint add the cluster cost (each patch near a prototype of its class) and the
separation cost (far from the others' prototypes) to the cross-entropy. The defaults are
Chen et al.'s (clst 0.8, sep -0.08, l1 1e-4; add-on and prototype rate 3e-3; last layer
1e-4); the spec gives others as strategy options. Each phase runs its schedule in full and
hands on its final weights (``carry="last"``), as the authors trained; with the option
``early_stopping`` warm-up and joint are early-stopped like the study's strategies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch

from benchmark.api import Backbone, HParams, LayerGroup, Phase, UserError, per_depth
from plugins.prototypes.network import ProtoPNet
from plugins.prototypes.options import ProtoPNetStrategyOptions
from plugins.prototypes.push import push


def cluster_separation(clst: float, sep: float) -> Callable[..., torch.Tensor]:
    """The extra loss of warm-up and joint: clst x cluster cost + sep x separation cost."""

    def loss(model: ProtoPNet, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        assert model.min_distances is not None
        own = model.identity[:, labels].t().bool()  # (B, P)
        inf = torch.finfo(model.min_distances.dtype).max
        cluster = model.min_distances.masked_fill(~own, inf).amin(dim=1).mean()
        separation = model.min_distances.masked_fill(own, inf).amin(dim=1).mean()
        return clst * cluster + sep * separation

    return loss


def wrong_class_l1(l1: float) -> Callable[..., torch.Tensor]:
    """The extra loss of last-layer training: L1 of the weights from prototypes to other classes."""

    def loss(model: ProtoPNet, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        wrong = 1 - model.identity.t()
        return l1 * (model.last_layer.weight * wrong).abs().sum()

    return loss


def protopnet(
    groups: Sequence[LayerGroup], frozen: int, hparams: HParams, backbone: Backbone | None = None, **options: object
) -> list[Phase]:
    """Warm-up, joint, push, last layer (see the module docstring)."""
    if backbone is None or not isinstance(backbone.model, ProtoPNet):
        raise UserError(
            "strategy 'protopnet' trains a prototype network: use it with a protopnet/<backbone> backbone "
            "(e.g. protopnet/timm/resnet50)"
        )
    o = ProtoPNetStrategyOptions.model_validate(options)
    prototypes, last = len(groups) - 2, len(groups) - 1
    if o.lr_features is not None:
        hparams = hparams.model_copy(update={"lr_last_block": o.lr_features})
    # the prototype group plays the head: features decay from lr_last_block
    rates = per_depth(groups[:-1], 0 if o.train_all_features else frozen, hparams)
    features = {i: lr for i, lr in rates.items() if i < prototypes}
    shaping = cluster_separation(o.clst, o.sep)
    carry: Literal["best", "last"] = "best" if o.early_stopping else "last"
    warm = [Phase("warm-up", {prototypes: o.lr_prototypes}, loss=shaping, epochs=o.warm_epochs, carry=carry)]
    return [
        *(warm if o.warm_epochs else []),
        Phase("joint", {**features, prototypes: o.lr_prototypes}, loss=shaping, epochs=o.joint_epochs, carry=carry),
        Phase("push", {}, action=push),
        Phase(
            "last-layer", {last: o.lr_last_layer}, loss=wrong_class_l1(o.l1), epochs=o.last_layer_epochs, carry="last"
        ),
    ]
