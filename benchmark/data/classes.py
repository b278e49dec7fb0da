"""The study's five patch classes, in the order of its tables (B, BC, BM, MC, MM)."""

from __future__ import annotations

CLASSES: tuple[str, ...] = (
    "background",
    "benign_calcification",
    "benign_mass",
    "malignant_calcification",
    "malignant_mass",
)
ABBREVIATIONS: dict[str, str] = {
    "background": "B",
    "benign_calcification": "BC",
    "benign_mass": "BM",
    "malignant_calcification": "MC",
    "malignant_mass": "MM",
}
BACKGROUND = 0


def lesion_class(lesion_type: str, pathology: str) -> str | None:
    """The patch class of a lesion, or None for BENIGN_WITHOUT_CALLBACK (not a class)."""
    kind = {"mass": "mass", "calcification": "calcification", "calc": "calcification"}.get(lesion_type.strip().lower())
    patho = pathology.strip().upper()
    if kind is None or patho not in ("BENIGN", "MALIGNANT"):
        return None
    return f"{patho.lower()}_{kind}"
