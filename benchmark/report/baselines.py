"""Published results shown next to ours, marked as cited (never re-run), exactly as printed.

``petrini-2022``: Petrini et al., the baseline the study compares with (accuracy 0.76,
AUC 0.80, batch 40). ``study``: the study under reproduction, its own Tables II-IV; its
Acc x LL column is copied as printed (0.08 and 0.085 are not recomputed from the rounded
accuracy and LL, which would give 0.079 and 0.086).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CitedRow:
    """One published row; numbers are kept as the source printed them (``"0.70"``)."""

    source: str
    backbone: str
    strategy: str
    batch_size: int | None
    accuracy: str | None
    auc_average: str | None
    best_epoch: int | None = None
    ll: str | None = None
    acc_x_ll: str | None = None
    auc_per_class: dict[str, str] = field(default_factory=dict)


def _aucs(values: str) -> dict[str, str]:
    return dict(
        zip(
            ("background", "benign_calcification", "benign_mass", "malignant_calcification", "malignant_mass"),
            values.split(),
            strict=True,
        )
    )


BASELINES: dict[str, list[CitedRow]] = {
    "petrini-2022": [CitedRow("Petrini et al. 2022 (cited)", "", "", 40, "0.76", "0.80")],
    "study": [
        CitedRow(
            "study (cited)",
            "vgg19",
            "gradual-unfreezing",
            16,
            "0.66",
            "0.78",
            47,
            "0.12",
            "0.08",
            _aucs("0.94 0.69 0.79 0.72 0.76"),
        ),
        CitedRow(
            "study (cited)",
            "resnet50",
            "gradual-unfreezing",
            8,
            "0.67",
            "0.78",
            30,
            "0.128",
            "0.085",
            _aucs("0.95 0.70 0.86 0.64 0.75"),
        ),
        CitedRow(
            "study (cited)",
            "vgg19",
            "simultaneous",
            16,
            "0.64",
            "0.77",
            40,
            "0.10",
            "0.064",
            _aucs("0.93 0.64 0.77 0.74 0.75"),
        ),
        CitedRow(
            "study (cited)",
            "resnet50",
            "simultaneous",
            16,
            "0.70",
            "0.81",
            22,
            "0.20",
            "0.14",
            _aucs("0.95 0.76 0.87 0.71 0.76"),
        ),
    ],
}

#: printed under the tables whenever a cited row is shown
COMPARABILITY_NOTE = (
    "How far the cited rows can be compared with ours: they are copied as printed. The study normalised each patch "
    "with the statistics of its own class, which needs the test label at test time (our `per-class` normaliser does "
    "the same and is flagged as a label leak); the supports of its classification reports (background 123, BC 110, "
    "BM 135, MC 109, MM 142: 619 test patches) differ from its own Table I (310, 110, 183, 110, 144), so its test set "
    "is not fully described; and it says itself that a fair comparison with Petrini et al. was not possible. "
    "Petrini et al. classify whole images by another protocol: their row is context, not a like-for-like baseline."
)
