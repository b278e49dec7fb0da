"""One verdict per lesion: localised against the strongest control on the same patch,
faithful against the random removals; four groups; the strongest control is the one with
the best mean, and the controls' own faithful share is recorded."""

from __future__ import annotations

import numpy as np

from benchmark.evaluation.records import VERDICT_GROUPS
from benchmark.evaluation.verdicts import lesion_verdicts
from benchmark.spec.schema import Verdict


def test_each_lesion_falls_in_one_of_four_groups() -> None:
    config = Verdict(margin=0.05, faithful_margin=0.0)
    iou = {"gradcam": np.array([0.9, 0.9, 0.3, 0.3, 0.62])}
    controls = {"centre": np.array([0.5, 0.5, 0.5, 0.5, 0.6]), "edges": np.array([0.1, 0.1, 0.9, 0.1, 0.1])}
    drop_random = np.array([0.1, 0.1, 0.1, 0.1, 0.1])
    drops = {
        "gradcam": np.array([0.5, 0.05, 0.5, 0.05, 0.5]),
        "centre": np.array([0.2, 0.2, 0.0, 0.0, 0.0]),
        "edges": np.array([0.0] * 5),
    }
    verdicts = lesion_verdicts(config, "iou@otsu", np.arange(10, 15), iou, controls, drops, drop_random)
    gradcam = verdicts.explainers["gradcam"]
    assert gradcam.control == "centre"  # the best mean (0.52 against 0.26), not the best on each patch
    assert gradcam.control_iou == [0.5, 0.5, 0.5, 0.5, 0.6]
    assert gradcam.localised == [True, True, False, False, False]  # 0.62 is not 0.6 + the margin
    assert gradcam.faithful == [True, False, True, False, True]
    assert [VERDICT_GROUPS[g] for g in gradcam.groups()] == [
        "localised and faithful",
        "localised only",
        "faithful only",
        "neither",
        "faithful only",
    ]
    assert verdicts.patch_index == [10, 11, 12, 13, 14] and verdicts.metric == "iou@otsu"
    assert verdicts.control_faithful == {"centre": 0.4, "edges": 0.0}
