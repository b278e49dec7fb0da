"""Published results shown next to ours, marked as cited (never re-run).

``petrini-2022``: Petrini et al., the baseline the study compares with (accuracy 0.76,
AUC 0.80, batch 40). ``study``: the study under reproduction, its own Tables II-IV
(see docs/anchors in the project notes).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CitedRow:
    source: str
    backbone: str
    strategy: str
    batch_size: int | None
    accuracy: float | None
    auc_average: float | None
    best_epoch: int | None = None
    ll: float | None = None
    auc_per_class: dict[str, float] = field(default_factory=dict)

    @property
    def acc_x_ll(self) -> float | None:
        return None if self.accuracy is None or self.ll is None else self.accuracy * self.ll


def _aucs(values: tuple[float, float, float, float, float]) -> dict[str, float]:
    return dict(zip(("background", "benign_calcification", "benign_mass", "malignant_calcification", "malignant_mass"), values))


BASELINES: dict[str, list[CitedRow]] = {
    "petrini-2022": [CitedRow("Petrini et al. 2022 (cited)", "", "", 40, 0.76, 0.80)],
    "study": [
        CitedRow("study (cited)", "vgg19", "gradual-unfreezing", 16, 0.66, 0.78, 47, 0.12, _aucs((0.94, 0.69, 0.79, 0.72, 0.76))),
        CitedRow("study (cited)", "resnet50", "gradual-unfreezing", 8, 0.67, 0.78, 30, 0.128, _aucs((0.95, 0.70, 0.86, 0.64, 0.75))),
        CitedRow("study (cited)", "vgg19", "simultaneous", 16, 0.64, 0.77, 40, 0.10, _aucs((0.93, 0.64, 0.77, 0.74, 0.75))),
        CitedRow("study (cited)", "resnet50", "simultaneous", 16, 0.70, 0.81, 22, 0.20, _aucs((0.95, 0.76, 0.87, 0.71, 0.76))),
    ],
}
