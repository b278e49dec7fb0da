"""Whole-mammogram models (docs/whole-image.md): what the stage after the patch runs
builds on each finished patch run. ``heatmap`` slides the trained patch classifier over
the image (no training, the baseline); ``shen`` is Shen et al. 2019's model, the patch
network's convolutional part with a new top trained end to end on whole images."""

from __future__ import annotations

from benchmark.api import hookimpl


@hookimpl
def register_whole_models(register):
    register(
        "heatmap",
        "plugins.whole_models.heatmap:heatmap_model",
        description="patch classifier, sliding windows (max pooled, untrained)",
    )
    register("shen", "plugins.whole_models.shen:shen_model", description="Shen et al. top, trained end to end")
