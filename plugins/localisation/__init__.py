"""Localisation metrics: how well a saliency map covers the radiologist's lesion mask.

Each metric maps ``(maps (N, H, W) in [0, 1], masks (N, H, W) bool, threshold=rule)`` to
one score per patch, higher meaning better localised; ``threshold`` is the spec's rule
for turning a map into a region, ignored by metrics that weigh the map's values.
"""

from __future__ import annotations

from benchmark.api import hookimpl
from plugins.localisation.iou import iou, iou_sweep
from plugins.localisation.pointing import energy_pointing_game, pointing_game
from plugins.localisation.precision import activation_precision
from plugins.localisation.relevance import relevance_mass, relevance_rank

__all__ = [
    "iou",
    "iou_sweep",
    "pointing_game",
    "energy_pointing_game",
    "relevance_mass",
    "relevance_rank",
    "activation_precision",
]


@hookimpl
def register_localisation_metrics(register):
    register("iou", iou, description="IoU of the thresholded map with the mask (the study's LL)")
    register("iou-sweep", iou_sweep, description="mean IoU over thresholds 0.05 ... 0.95")
    register("pointing-game", pointing_game, description="the map's peak lies in the mask (0/1)")
    register("energy-pointing-game", energy_pointing_game, description="share of saliency in the mask's bounding box")
    register("relevance-mass", relevance_mass, description="share of saliency in the mask")
    register("relevance-rank", relevance_rank, description="share of the mask-area top pixels in the mask")
    register(
        "activation-precision",
        activation_precision,
        description="share of the map's top 5% (95th percentile, IAIA-BL) in the mask",
    )
