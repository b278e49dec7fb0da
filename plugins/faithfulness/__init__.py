"""Faithfulness metrics: does the model use the pixels a map highlights?

Each metric perturbs the normalised input where the map points and watches the
probability of the target class (the predicted one, equal to the true class on the
correctly classified lesion patches the core scores). ROAD (Rong et al. 2022) removes the
most or the least relevant pixels by noisy linear imputation; deletion and insertion
(Petsiuk et al. 2018) take the area under the probability as pixels are removed or
revealed. Every score here is a drop in the target probability, averaged over the steps.
"""

from __future__ import annotations

from benchmark.api import hookimpl


@hookimpl
def register_faithfulness_metrics(register):
    from plugins.faithfulness.perturbation_curves import CurveOptions
    from plugins.faithfulness.road import RoadOptions

    road = "plugins.faithfulness.road"
    register(
        "road-morf",
        f"{road}:road_morf",
        options=RoadOptions,
        description="ROAD, most relevant first: mean drop in the target probability after removing the top "
        "10 ... 90% (higher: more faithful)",
    )
    register(
        "road-lerf",
        f"{road}:road_lerf",
        options=RoadOptions,
        description="ROAD, least relevant first: mean drop after removing the bottom 10 ... 90% (lower: more faithful)",
    )
    register(
        "road-combined",
        f"{road}:road_combined",
        options=RoadOptions,
        description="ROAD combined: (MoRF drop - LeRF drop) / 2 (higher: more faithful)",
    )
    curves = "plugins.faithfulness.perturbation_curves"
    register(
        "deletion",
        f"{curves}:deletion",
        options=CurveOptions,
        description="deletion (RISE): the target probability's drop, averaged as the most relevant pixels "
        "are replaced by zero (the normalised mean) step by step (higher: more faithful)",
    )
    register(
        "insertion",
        f"{curves}:insertion",
        options=CurveOptions,
        description="insertion (RISE): the target probability's drop, averaged as the most relevant pixels "
        "are revealed on a blurred image step by step (lower: more faithful)",
    )
