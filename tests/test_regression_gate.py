"""The regression gate trips when a fixture metric moves beyond tolerance, and only then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark import regression
from benchmark.run.result import RunResult
from tests.conftest import run_cli
from tests.factories import run_result


def _result(label: str, accuracy: float, ll: float) -> RunResult:
    return run_result(label=label, accuracy=accuracy, lls={"gradcam": ll, "random": 0.1})


@pytest.fixture
def results() -> list[RunResult]:
    return [_result("a / simultaneous", 0.80, 0.50), _result("a / gradual-unfreezing", 0.85, 0.55)]


def test_within_tolerance_passes_and_beyond_trips(results: list[RunResult]) -> None:
    golden = regression.golden_from(results, "fixture")
    assert not [r for r in regression.compare(results, golden) if r.moved]
    nudged = [_result("a / simultaneous", 0.83, 0.50), results[1]]  # inside the 0.06 tolerance
    assert not [r for r in regression.compare(nudged, golden) if r.moved]
    moved = [results[0], _result("a / gradual-unfreezing", 0.85, 0.35)]
    rows = [r for r in regression.compare(moved, golden) if r.moved]
    assert [(r.run, r.metric) for r in rows] == [("a / gradual-unfreezing", "ll.gradcam")]
    assert rows[0].delta == pytest.approx(-0.2)


def test_a_missing_or_new_run_trips(results: list[RunResult]) -> None:
    golden = regression.golden_from(results, "fixture")
    rows = [r for r in regression.compare(results[:1], golden) if r.moved]
    assert [(r.run, r.metric) for r in rows] == [("a / gradual-unfreezing", "(run)")]


def test_cli_gate_exit_codes_and_table(results: list[RunResult], tmp_path: Path) -> None:
    current, golden = tmp_path / "results.json", tmp_path / "golden.json"
    current.write_text(json.dumps([r.to_json() for r in results]))
    assert run_cli("compare", str(current), "--baseline", str(golden), "--update").code == 0
    assert run_cli("compare", str(current), "--baseline", str(golden)).code == 0
    perturbed = [_result("a / simultaneous", 0.5, 0.50), results[1]]
    current.write_text(json.dumps([r.to_json() for r in perturbed]))
    tripped = run_cli("compare", str(current), "--baseline", str(golden))
    assert tripped.code == 1
    assert "moved beyond tolerance" in tripped.stderr and "accuracy" in tripped.stderr and "-0.3000" in tripped.stderr
    missing = run_cli("compare", str(tmp_path / "absent.json"), "--baseline", str(golden))
    assert missing.code == 2 and "no such results file" in missing.stderr


@pytest.mark.parametrize(
    "baseline", ["[]", '{"runs": []}', '{"runs": {"a": 1}}', '{"runs": {}, "tolerances": []}', "folder"]
)
def test_compare_refuses_what_is_no_golden_file_with_a_message(
    results: list[RunResult], tmp_path: Path, baseline: str
) -> None:
    """Issue 24 (10): a baseline that is no golden file (or a folder), or results that are
    a folder, is a message naming the file and exit 2, never a traceback."""
    current, golden = tmp_path / "results.json", tmp_path / "golden.json"
    current.write_text(json.dumps([r.to_json() for r in results]))
    if baseline == "folder":
        golden.mkdir()
    else:
        golden.write_text(baseline)
    refused = run_cli("compare", str(current), "--baseline", str(golden))
    assert refused.code == 2, refused.output
    assert str(golden) in refused.stderr and "Traceback" not in refused.output
    assert ("a folder, not a golden file" if baseline == "folder" else "not a golden file") in refused.stderr
    folder = run_cli("compare", str(tmp_path), "--baseline", str(golden))
    assert folder.code == 2 and "a folder, not a results file" in folder.stderr, folder.output


def test_committed_golden_matches_the_fixture_spec() -> None:
    golden = json.loads((Path(__file__).parent / "golden" / "fixture.json").read_text())
    assert golden["spec"] == "fixture" and len(golden["runs"]) == 2
    assert set(golden["tolerances"]) == set(regression.DEFAULT_TOLERANCES)


@pytest.mark.slow
def test_gate_on_the_fixture_run_passes_and_trips_when_perturbed(fixture_run: Path, tmp_path: Path) -> None:
    """What ``.ci/run`` does after the tests, on this session's run of specs/fixture.yaml."""
    golden = Path(__file__).parent / "golden" / "fixture.json"
    results = fixture_run / "reports" / "fixture" / "results.json"
    passed = run_cli("compare", str(results), "--baseline", str(golden))
    assert passed.code == 0, passed.output
    perturbed = json.loads(results.read_text())
    perturbed[0]["test"]["accuracy"] -= 0.1
    moved = tmp_path / "results.json"
    moved.write_text(json.dumps(perturbed))
    tripped = run_cli("compare", str(moved), "--baseline", str(golden))
    assert tripped.code == 1
    assert "accuracy" in tripped.stderr and "-0.1000" in tripped.stderr


@pytest.mark.slow
def test_the_fixture_spec_reproduces_the_golden_numbers(fixture_run: Path) -> None:
    """The CI gate: ``cbis-bench run specs/fixture.yaml`` (the suite's one run of it) against
    ``tests/golden/fixture.json``, with the command a user runs (``make regression`` runs
    the same two commands from scratch)."""
    from tests.conftest import ROOT

    gate = run_cli(
        "compare",
        str(fixture_run / "reports" / "fixture" / "results.json"),
        "--baseline",
        str(ROOT / "tests" / "golden" / "fixture.json"),
    )
    assert gate.code == 0 and "no regression" in gate.output, gate.output
