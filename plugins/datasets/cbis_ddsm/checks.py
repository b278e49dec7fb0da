"""Whole-catalogue checks that only make sense across rows: mixed pathology on one image,
patients on both sides of the official split."""

from __future__ import annotations

from collections import defaultdict

from benchmark.api import Audit, ImageRecord


def audit_catalogue(records: list[ImageRecord], audit: Audit) -> None:
    audit.count("mammograms resolved", len(records), effect="resolved")
    audit.count("lesions resolved", sum(len(r.lesions) for r in records), effect="resolved")
    for rec in records:
        pathologies = {lesion.pathology for lesion in rec.lesions}
        if {"BENIGN", "MALIGNANT"} <= pathologies:
            audit.event("mammograms with mixed pathology", rec.image_path, ", ".join(sorted(pathologies)))
        if len(rec.lesions) > 1:
            audit.count("mammograms with several lesions")
    splits: dict[str, set[str]] = defaultdict(set)
    for rec in records:
        splits[rec.patient_id].add(rec.split)
    for patient, found in sorted(splits.items()):
        if len(found) > 1:
            audit.event("patients in both official train and test", patient)
