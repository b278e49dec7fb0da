"""Can the LL score tell a model that looks at the lesion from one that does not?

On the clean fixture the class is drawn into the lesion: LL must be clearly above the
random baseline. On the confounded fixture the lesion is neutral and the class is a
marker placed at random near it: a model can be just as accurate there, but its maps
follow the marker, and LL must be indistinguishable from the random baseline (the paired
bootstrap interval of the difference holds 0). See docs/localisation-validation.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow

EXPLAINER = "gradcam-batched"


def _stats(base: Path, spec: str) -> tuple[list[dict], dict]:
    folder = base / "reports" / spec
    return json.loads((folder / "results.json").read_text()), json.loads((folder / "statistics.json").read_text())


def test_ll_is_at_chance_on_confounded_data_and_well_above_it_on_clean_data(fixture_run: Path, tmp_path: Path) -> None:
    ran = run_cli("run", str(ROOT / "specs" / "confounded.yaml"), "--home", str(tmp_path / "home"),
                  "--reports", str(tmp_path / "reports"))
    assert ran.code == 0, ran.output

    results, stats = _stats(tmp_path, "confounded")
    (confounded,) = results
    assert confounded["test"]["accuracy"] >= 0.85  # accurate without looking at the lesion
    vs_random = stats["runs"][confounded["run_id"]]["localisation"][EXPLAINER]["iou"]
    assert vs_random["difference"]["low"] <= 0.0 <= vs_random["difference"]["high"]
    assert abs(vs_random["difference"]["estimate"]) < 0.1

    results, stats = _stats(fixture_run, "fixture")
    for clean in results:
        vs_random = stats["runs"][clean["run_id"]]["localisation"][EXPLAINER]["iou"]
        assert vs_random["difference"]["low"] > 0.2  # LL far above chance, and surely so
