"""Can the evidence tell a model that looks at the lesion from one that does not?

On the clean fixture the class is drawn into the lesion: LL must be clearly above the
random baseline. On the confounded fixture the lesion is neutral and the class is a
marker placed at random near it: a model can be just as accurate there, but its maps
follow the marker, and LL must be indistinguishable from the random baseline (the paired
bootstrap interval of the difference holds 0). The per-lesion verdicts must tell the two
apart the same way: on confounded data the maps are *faithful but not localised* for
most lesions (the model uses the marker the map finds), on clean data a far larger share
is *localised and faithful*. See docs/localisation-validation.md.
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


@pytest.fixture(scope="module")
def confounded_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("confounded")
    ran = run_cli(
        "run", str(ROOT / "specs" / "confounded.yaml"), "--home", str(base / "home"), "--reports", str(base / "reports")
    )
    assert ran.code == 0, ran.output
    return base


def test_ll_is_at_chance_on_confounded_data_and_well_above_it_on_clean_data(
    fixture_run: Path, confounded_run: Path
) -> None:
    results, stats = _stats(confounded_run, "confounded")
    (confounded,) = results
    assert confounded["test"]["accuracy"] >= 0.85  # accurate without looking at the lesion
    vs_random = stats["runs"][confounded["run_id"]]["localisation"][EXPLAINER]["iou"]
    assert vs_random["difference"]["low"] <= 0.0 <= vs_random["difference"]["high"]
    assert abs(vs_random["difference"]["estimate"]) < 0.1

    results, stats = _stats(fixture_run, "fixture")
    for clean in results:
        vs_random = stats["runs"][clean["run_id"]]["localisation"][EXPLAINER]["iou"]
        assert vs_random["difference"]["low"] > 0.2  # LL far above chance, and surely so


def _shares(results: list[dict], stats: dict) -> list[dict]:
    return [stats["runs"][r["run_id"]]["verdicts"][EXPLAINER] for r in results]


def test_verdicts_find_the_marker_on_confounded_data_and_the_lesion_on_clean_data(
    fixture_run: Path, confounded_run: Path
) -> None:
    (confounded,) = _shares(*_stats(confounded_run, "confounded"))
    assert confounded["faithful only"]["estimate"] > 0.75  # it uses what the map shows: the marker ...
    localised = confounded["localised and faithful"]["estimate"] + confounded["localised only"]["estimate"]
    assert localised < 0.15  # ... which is not the lesion
    for clean in _shares(*_stats(fixture_run, "fixture")):
        assert clean["localised and faithful"]["estimate"] >= 0.35
        assert clean["localised and faithful"]["low"] > confounded["localised and faithful"]["high"]
