"""The audit as a user sees it: ``cbis-bench prepare`` on a DICOM tree, and the report's
section (ledgers, counters by effect, rules, patches per class and split, files)."""

from __future__ import annotations

from pathlib import Path

from benchmark.data.preparation import prepare
from benchmark.report.audit_section import audit_markdown
from benchmark.spec.schema import PatchParams
from plugins.datasets.cbis_ddsm import CbisDdsm
from tests.conftest import run_cli

SPEC = """name: audit-demo
dataset:
  plugin: synthetic-cbis-ddsm
  options: {seed: 4, images: 20, layout: tcia-descriptive}
  patches: {size: 32, background_size: 48, background_per_image: 1}
normaliser: dataset
matrix: {backbone: [resnet50], strategy: [simultaneous]}
"""


def test_report_section_accounts_for_every_row_and_lesion(small_tree: Path, tmp_path: Path) -> None:
    ds = CbisDdsm({"root": str(small_tree)}, cache_dir=tmp_path / "cache")
    patches, _ = prepare(ds, ds.catalogue(), PatchParams(size=32, background_size=48), tmp_path / "cache", workers=1)
    text = "\n".join(audit_markdown(patches.audit.to_dict()))
    ledger, rows = patches.audit.notes["lesion ledger"], patches.audit.notes["case rows"]
    assert f"Case rows: {rows['read']} read, {rows['resolved']} resolved" in text
    assert (
        f"Lesions: {ledger['lesions']} resolved: {ledger['patches']} cut into patches, {ledger['not a class']} "
        f"not a class (BENIGN_WITHOUT_CALLBACK), {ledger['dropped']} dropped."
    ) in text
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| effect"))
    table = lines[start + 2 : lines.index("", start)]
    counters = [[c.strip() for c in line.strip("|").split("|")] for line in table]
    effects = [row[0] for row in counters if row[0]]
    assert effects == [
        e for e in ("read", "resolved", "repaired", "dropped", "noted") if e in effects
    ]  # each once, in order
    assert {"repaired", "dropped", "noted"} <= set(effects)
    shown = {row[1]: int(row[2]) for row in counters}
    assert shown == {key: n for key, n in patches.audit.counts.items()}  # every counter, with its count
    assert "- mask size: a mask of another size" in text and "Patches per class and official split:" in text
    assert "<summary>Files and rows concerned" in text


def test_prepare_command_prints_the_audit_and_hits_the_cache(tmp_path: Path) -> None:
    spec = tmp_path / "audit-demo.yaml"
    spec.write_text(SPEC)
    first = run_cli("prepare", str(spec), "--home", str(tmp_path / "home"))
    assert first.code == 0, first.output
    for text in (
        "case rows read",
        "rows resolved: ROI mask",
        "empty SeriesDescription recovered (mask)",
        "Case rows: ",
        "Lesions: ",
        "prepared in",
    ):
        assert text in first.stdout, text
    second = run_cli("prepare", str(spec), "--home", str(tmp_path / "home"))
    assert second.code == 0 and "cache hit in" in second.stdout
