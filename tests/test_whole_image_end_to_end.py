"""``cbis-bench run specs/whole-image-fixture.yaml`` as a user runs it: both stages, the
report's "Whole mammogram" section with its figures, an AUC whose whole 95% interval
lies above chance on generated data whose lesions carry the class, and a second run that skips
both stages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow

SPEC = str(ROOT / "specs" / "whole-image-fixture.yaml")


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("whole-run")
    result = run_cli("run", SPEC, "--home", str(base / "home"), "--reports", str(base / "reports"))
    assert result.code == 0, result.output
    return base


def _results(base: Path) -> list[dict]:
    return [
        json.loads(p.read_text())
        for p in sorted((base / "home" / "runs" / "whole-image-fixture" / "whole").glob("*/result.json"))
    ]


def test_report_has_the_whole_mammogram_section_and_figures(whole_run: Path) -> None:
    folder = whole_run / "reports" / "whole-image-fixture"
    text = (folder / "report.md").read_text()
    section = text[text.index("## Whole mammogram") :]
    assert "(cited)" in section and "0.83-0.86" in section and "0.848" in section
    assert "Paired comparison" in section
    assert "Not distinguishable from chance" in section  # the Shen model's interval reaches 0.5 on 60 test images
    assert re.search(r"\| \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", section)  # AUC [interval]
    assert (folder / "figures" / "whole" / "roc.png").stat().st_size > 1000
    assert list((folder / "figures" / "whole").glob("gallery-heatmap-*.png"))
    assert list((folder / "figures" / "whole").glob("gallery-shen-*.png"))


def test_whole_image_auc_is_above_chance_with_its_interval(whole_run: Path) -> None:
    results = {r["model"]: r for r in _results(whole_run)}
    assert set(results) == {"heatmap", "shen"}
    heatmap = results["heatmap"]["auc"]
    assert heatmap["low"] < heatmap["estimate"] < heatmap["high"]
    # The whole 95% interval above chance (0.676 [0.544, 0.822] on CPU, deterministic):
    # lesions carry the class on the generated data, and the heatmap finds them.
    assert heatmap["low"] > 0.5, heatmap
    assert (
        results["heatmap"]["localisation"]["pointing_game"] > results["heatmap"]["localisation"]["pointing_game_random"]
    )
    assert results["shen"]["details"]["effective_batch"] == 16
    assert results["shen"]["measurements"]["memory"]["host_peak_rss_mib"] > 0


def test_second_run_skips_both_stages(whole_run: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in (whole_run / "home" / "runs").rglob("result.json")}
    result = run_cli("run", SPEC, "--home", str(whole_run / "home"), "--reports", str(whole_run / "reports"))
    assert result.code == 0, result.output
    assert "already done" in result.output and "whole image: all 2 result(s) already done" in result.output
    assert "started" not in result.output
    assert {p: p.stat().st_mtime_ns for p in before} == before


#: a third-party whole-image model with options, written against benchmark.api alone (as in the README)
BRIGHTEST = '''
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from benchmark.api import WholeImageContext, WholeImageOutput, hookimpl


class BrightestOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantile: float = Field(0.99, gt=0.0, lt=1.0)


def brightest(context: WholeImageContext, quantile: float = 0.99) -> WholeImageOutput:
    """No model: a mammogram's score is the quantile of its pixels, its map the pixels above it."""
    test = context.images[context.split("test")].astype(np.float32) / 255.0
    cut = np.quantile(test.reshape(len(test), -1), quantile, axis=1)
    maps = (test >= cut[:, None, None]).astype(np.float32)
    return WholeImageOutput(cut, maps, {"quantile": quantile})


@hookimpl
def register_whole_models(register):
    register("brightest", brightest, options=BrightestOptions)
'''


def test_a_third_party_whole_image_model_takes_its_options(whole_run: Path, tmp_path: Path) -> None:
    """whole_image.models entries are plugin references with options: validated by the
    plugin's own options model, passed to it, part of the result's id and label."""
    (tmp_path / "brightest_plugin.py").write_text(BRIGHTEST)
    where = ("--home", str(whole_run / "home"), "--reports", str(tmp_path / "reports"), "--plugin", "brightest_plugin")
    env = {"PYTHONPATH": str(tmp_path)}
    models = "--set", "whole_image.models=[heatmap, {name: brightest, options: {quantile: 0.9}}]"
    ran = run_cli("run", SPEC, *where, *models, env=env)
    assert ran.code == 0, ran.output
    assert "already done" in ran.output and "whole image: brightest[quantile=0.9] on patch run" in ran.output, (
        ran.output
    )
    (result,) = [r for r in _results(whole_run) if r["model"].startswith("brightest")]
    assert result["model"] == "brightest[quantile=0.9]" and result["details"] == {"quantile": 0.9}
    text = (tmp_path / "reports" / "whole-image-fixture" / "report.md").read_text()
    assert "brightest[quantile=0.9]" in text[text.index("## Whole mammogram") :]
    bad = run_cli("validate", SPEC, "--plugin", "brightest_plugin", "--set",
                  "whole_image.models=[{name: brightest, options: {quantile: 2}}]", env=env)  # fmt: skip
    assert bad.code == 2 and "whole_image.models[0].options" in bad.stderr and "quantile" in bad.stderr, bad.output


def test_the_report_states_the_spec_level_and_shows_only_the_spec_runs(whole_run: Path, tmp_path: Path) -> None:
    """Issue 24 (2, 3): the image-level numbers are recomputed from the stored test scores
    at the spec's bootstrap level and specificities, so the header's level is the level of
    the numbers under it (nothing is retrained); a stored result of a patch run the spec no
    longer has is not listed beside the current ones."""
    folder = whole_run / "home" / "runs" / "whole-image-fixture" / "whole"
    (current,) = [p for p in folder.glob("*/result.json") if json.loads(p.read_text())["model"] == "heatmap"]
    stray = json.loads(current.read_text()) | {"id": "0123456789ab", "patch_run": "0123456789ab"}
    (folder / "0123456789ab").mkdir()
    (folder / "0123456789ab" / "result.json").write_text(json.dumps(stray))
    levels = {}
    for confidence in ("0.95", "0.6"):
        out = tmp_path / confidence
        made = run_cli(
            "report", SPEC, "--home", str(whole_run / "home"), "--reports", str(out),
            "--set", f"report.bootstrap.confidence={confidence}", "--set", "whole_image.sensitivity_at=[0.7]",
        )  # fmt: skip
        assert made.code == 0, made.output
        section = (out / "whole-image-fixture" / "report.md").read_text().split("## Whole mammogram")[1]
        lines = section.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("| patch run"))
        header, table = lines[start], []
        for line in lines[start + 2 :]:  # the results table: its rows up to the blank line after it
            if not line.startswith("|"):
                break
            table.append(line)
        assert len(table) == 2, table  # heatmap and shen of the spec's one patch run, not the stray result
        level = f"{100 * float(confidence):g}%"
        assert f"AUC [{level}]" in header and "sens@spec 0.7" in header and "sens@spec 0.8" not in header
        assert f"{level} stratified bootstrap interval" in section
        levels[confidence] = re.search(r"\[(\d\.\d{3}), (\d\.\d{3})\]", table[0]).groups()
    (low95, high95), (low60, high60) = ([float(x) for x in v] for v in levels.values())
    assert low95 < low60 <= high60 < high95  # a 60% interval inside the 95% one: recomputed, not relabelled
