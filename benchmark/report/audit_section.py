"""The preparation audit as a reader wants it: where every row and lesion went, then the
counters grouped by effect (read, resolved, repaired, dropped, noted), the rules that
repaired or dropped, the patches per class and split, and the files concerned.

Shared by the report (markdown) and ``cbis-bench prepare`` (which prints the same
summary lines and groups).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchmark.data.audit import Audit
from benchmark.data.classes import CLASSES


def summary_lines(audit: Audit) -> list[str]:
    """One sentence per ledger: rows (from the dataset plugin) and lesions (from preparation)."""
    lines = []
    if rows := audit.notes.get("case rows"):
        lines.append(
            f"Case rows: {rows['read']} read, {rows['resolved']} resolved to a mammogram and mask, "
            f"{rows['skipped']} skipped."
        )
    if draw := audit.notes.get("background draw"):
        parts = [
            f"{split}: {d['windows cut']} of {d['requested']} windows cut from {d['images cut from']} of "
            f"{d['images available']} background images"
            for split, d in draw.items()
            if isinstance(d, dict)
        ]
        lines.append(
            f"Background ({draw['size']} x {draw['size']} windows, images drawn at random with seed "
            f"{draw['seed']}): " + "; ".join(parts) + "."
        )
    if ledger := audit.notes.get("lesion ledger"):
        lines.append(
            f"Lesions: {ledger['lesions']} resolved: {ledger['patches']} cut into patches, "
            f"{ledger['not a class']} not a class (BENIGN_WITHOUT_CALLBACK), {ledger['dropped']} dropped."
        )
    return lines


def effect_rows(audit: Audit) -> list[tuple[str, str, int]]:
    """(effect, counter, count), grouped by effect (read, resolved, repaired, dropped, noted)."""
    return [(effect, key, n) for effect, group in audit.by_effect().items() for key, n in group.items()]


def _patches_table(patches: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"class": name, **{split: patches.get(f"{split}/{name}", 0) for split in ("train", "test")}}
            for name in CLASSES
        ]
    )


def audit_markdown(data: dict[str, Any]) -> list[str]:
    """The report's "Data preparation audit" section, as markdown lines."""
    audit = Audit.from_dict(data)
    notes = audit.notes
    lines = ["## Data preparation audit", ""]
    where = [
        f"layout `{notes['layout']}`" if "layout" in notes else "",
        f"case CSVs in `{notes['case CSVs']}`" if "case CSVs" in notes else "",
    ]
    if any(where):
        lines += ["Source: " + ", ".join(w for w in where if w) + ".", ""]
    lines += [
        "Every row read, resolved, repaired or dropped during preparation (see docs/data-preparation.md). "
        "*Repaired*: something wrong was found and fixed, the item kept; *dropped*: lost, with the reason.",
        "",
    ]
    lines += [f"- {line}" for line in summary_lines(audit)] + [""]
    rows = pd.DataFrame(effect_rows(audit), columns=["effect", "what", "count"])
    rows["effect"] = rows["effect"].where(rows["effect"] != rows["effect"].shift())  # name each group once
    lines += [rows.fillna("").to_markdown(index=False, disable_numparse=True), ""]
    if rules := notes.get("rules"):
        lines += ["Rules:", ""] + [f"- {name}: {rule}" for name, rule in rules.items()] + [""]
    if patches := notes.get("patches"):
        lines += [
            "Patches per class and official split:",
            "",
            _patches_table(patches).to_markdown(index=False, disable_numparse=True),
            "",
        ]
    if audit.events:
        lines += ["<details><summary>Files and rows concerned (first of each kind)</summary>", ""]
        lines += [
            f"- {e['kind']}: `{e['where']}`" + (f" ({e['detail']})" if e.get("detail") else "") for e in audit.events
        ]
        lines += ["", "</details>"]
    return lines
