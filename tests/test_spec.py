"""Specs: precise errors (file, line, field, what was expected), plugin-name checks,
environment interpolation, and expansion into runs with stable ids."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchmark.errors import UserError
from benchmark.run.config import expand
from benchmark.spec.loader import SpecError, load_spec, parse_spec
from tests.conftest import ROOT, run_cli

FIXTURE_SPEC = ROOT / "specs" / "fixture.yaml"
PAPER_SPEC = ROOT / "specs" / "paper.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def _fixture_with(tmp_path: Path, old: str, new: str) -> Path:
    text = FIXTURE_SPEC.read_text()
    assert old in text
    return _write(tmp_path, text.replace(old, new))


def test_shipped_specs_validate() -> None:
    assert len(expand(load_spec(FIXTURE_SPEC))) == 2
    paper = expand(load_spec(PAPER_SPEC))
    assert len(paper) == 48  # 4 backbones x 2 strategies x 6 hyperparameter sets
    resnet_sim = [r for r in paper if r.backbone == "resnet50" and r.strategy == "simultaneous"]
    assert {r.hparams.lr_last_block for r in resnet_sim} == {3e-4}  # the study's override
    assert {r.hparams.lr_last_block for r in paper if r.backbone == "vgg19"} == {3e-5}


def test_typo_in_a_field_names_it_and_suggests(tmp_path: Path) -> None:
    spec = _fixture_with(tmp_path, "lr_head: 3.0e-3", "lr_haed: 3.0e-3")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    message = str(info.value)
    assert str(spec) in message
    assert "matrix.hparams[0].lr_haed: unknown field 'lr_haed'. Did you mean: lr_head?" in message
    line = next(i for i, text in enumerate(spec.read_text().splitlines(), 1) if "lr_haed" in text)
    assert f"line {line}: " in message


def test_wrong_type_names_field_and_value(tmp_path: Path) -> None:
    spec = _fixture_with(tmp_path, "batch_size: 16", "batch_size: sixteen")
    with pytest.raises(
        SpecError, match=r"matrix\.hparams\[0\]\.batch_size: Input should be a valid integer.*'sixteen'"
    ):
        load_spec(spec)


def test_unknown_backbone_lists_known_and_closest(tmp_path: Path) -> None:
    spec = _fixture_with(tmp_path, "backbone: [timm/test_resnet]", "backbone: [resnt50]")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    message = str(info.value)
    assert "matrix.backbone[0]: Unknown backbone 'resnt50'. Did you mean: resnet50?" in message
    assert "vgg19" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    spec = _fixture_with(tmp_path, "strategy: [simultaneous, gradual-unfreezing]", "strategy: [simultanous, gradual]")
    spec = _write(tmp_path, spec.read_text().replace("normaliser: dataset", "normaliser: datset"))
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    problems = info.value.problems
    assert len(problems) == 2
    assert any("normaliser: Unknown normaliser 'datset'. Did you mean: dataset?" in p for p in problems)
    assert any("matrix.strategy[0]: Unknown strategy 'simultanous'. Did you mean: simultaneous?" in p for p in problems)


def test_dataset_options_are_validated_by_the_plugin(tmp_path: Path) -> None:
    spec = _fixture_with(tmp_path, "images: 120", "imgs: 120")
    with pytest.raises(SpecError, match=r"dataset\.options\.imgs"):
        load_spec(spec)


def test_environment_interpolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBIS_DDSM_ROOT", "/somewhere/else")
    assert load_spec(PAPER_SPEC).dataset.options["root"] == "/somewhere/else"
    monkeypatch.delenv("CBIS_DDSM_ROOT")
    assert load_spec(PAPER_SPEC).dataset.options["root"] == "/data"
    spec = _write(tmp_path, PAPER_SPEC.read_text().replace("${CBIS_DDSM_ROOT:-/data}", "${NOT_SET_ANYWHERE_XYZ}"))
    with pytest.raises(SpecError, match="NOT_SET_ANYWHERE_XYZ is not set"):
        load_spec(spec)


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"line \d+, column \d+: not valid YAML"):
        load_spec(_write(tmp_path, "name: x\nmatrix: [unclosed\n"))
    with pytest.raises(UserError, match="no such spec file"):
        load_spec(tmp_path / "absent.yaml")


def test_run_ids_are_stable_across_processes_and_distinct() -> None:
    ids = [r.run_id for r in expand(load_spec(PAPER_SPEC))]
    assert len(set(ids)) == len(ids)
    code = (
        "from benchmark.run.config import expand; from benchmark.spec.loader import load_spec; "
        f"print(','.join(r.run_id for r in expand(load_spec({str(PAPER_SPEC)!r}))))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONHASHSEED": "123", "PATH": ""}
    )
    assert other.stdout.strip().split(",") == ids


def test_changing_a_hyperparameter_changes_only_its_runs(tmp_path: Path) -> None:
    base = {r.label: r.run_id for r in expand(load_spec(PAPER_SPEC))}
    data = yaml.safe_load(PAPER_SPEC.read_text())
    data["matrix"]["hparams"][1]["batch_size"] = 4  # the second set: bs16, decay 0.5
    changed = {r.label: r.run_id for r in expand(load_spec(_write(tmp_path, yaml.safe_dump(data))))}
    same = [label for label in changed if label in base and base[label] == changed[label]]
    assert len(same) == 40 and not any(
        "bs16 lr0.0001/3e-05 /" in label or "bs16 lr0.0001/0.0003 /" in label for label in same
    )
    assert len([label for label in changed if label not in base]) == 8  # the 8 runs of the changed set


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("lr_head: 3.0e-3", "lr_haed: 3.0e-3", "Did you mean: lr_head?"),
        ("batch_size: 16", "batch_size: sixteen", "batch_size: Input should be a valid integer"),
        ("backbone: [timm/test_resnet]", "backbone: [resnt50]", "Did you mean: resnet50?"),
    ],
)
def test_validate_command_exits_2_with_the_message(tmp_path: Path, old: str, new: str, expected: str) -> None:
    result = run_cli("validate", str(_fixture_with(tmp_path, old, new)))
    assert result.code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_validate_command_accepts_the_fixture_spec() -> None:
    result = run_cli("validate", str(FIXTURE_SPEC))
    assert result.code == 0, result.output
    assert "2 run(s)" in result.stdout


@pytest.mark.parametrize(
    "path, parts",
    [
        ("matrix.hparams[0].lr_head", ("matrix", "hparams", 0, "lr_head")),
        ("training.weights['torchvision/mobilenet_v2']", ("training", "weights", "torchvision/mobilenet_v2")),
        ('a["b c"][2]', ("a", "b c", 2)),
    ],
)
def test_a_field_path_reads_and_prints_one_grammar(path: str, parts: tuple) -> None:
    from benchmark.spec.field_path import parse, show

    assert parse(path) == parts and parse(show(parts)) == parts


@pytest.mark.parametrize("path", ["a..b", ".a", "a.0", "a b", "a[x]", ""])
def test_a_malformed_field_path_names_where_it_goes_wrong(path: str) -> None:
    from benchmark.spec.field_path import parse

    with pytest.raises(ValueError, match="field name|empty"):
        parse(path)


def test_a_set_override_reaches_a_key_that_is_no_field_name() -> None:
    spec = load_spec(
        FIXTURE_SPEC,
        overrides=["training.weights['timm/test_resnet']=/w/net.pth", "training.weights['vgg16']=/w/vgg.pth"],
    )
    assert spec.training.weights == {"timm/test_resnet": "/w/net.pth", "vgg16": "/w/vgg.pth"}
    assert spec.overrides == ("training.weights['timm/test_resnet']=/w/net.pth", "training.weights['vgg16']=/w/vgg.pth")


def test_options_that_read_as_one_value_give_one_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24 (8): run ids hash the options as the plugin's options model reads them, so
    ``seed: 0``, ``"0"``, ``0.0`` and the README's ``"${SEED:-0}"`` are one run (a run
    already done is not trained again), while another value is another run."""
    monkeypatch.delenv("SEED", raising=False)
    base = yaml.safe_load(FIXTURE_SPEC.read_text())
    ids = {}
    for seed in (0, "0", 0.0, "${SEED:-0}", 1):
        data = json.loads(json.dumps(base))
        data["dataset"]["options"]["seed"] = seed
        data["explain"]["faithfulness"]["metrics"][0]["options"]["percentiles"] = ["20", 50.0, 80]
        ids[repr(seed)] = [run.run_id for run in expand(parse_spec(data))]
    assert ids["0"] == ids["'0'"] == ids["0.0"] == ids["'${SEED:-0}'"] != ids["1"]


def _spec_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    """Issue 24 (14): 8 nested nine-fold aliases (43 million values) under an unknown key
    took 63 s and 1.2 GB to reject; the loader counts what the document expands to first."""
    lines = ["  a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = _spec_file(tmp_path, FIXTURE_SPEC.read_text() + "junk:\n" + "\n".join(lines) + "\n")
    result = run_cli("validate", str(bomb))
    assert result.code == 2 and "expands to more than 100,000 values" in result.stderr, result.output


def test_a_spec_file_of_megabytes_is_refused_at_once(tmp_path: Path) -> None:
    big = _spec_file(tmp_path, FIXTURE_SPEC.read_text() + "junk:\n" + "".join(f"  k{i}: {i}\n" for i in range(120_000)))
    result = run_cli("validate", str(big))
    assert result.code == 2 and "larger than a spec can be" in result.stderr, result.output


def test_yaml_merge_keys_are_read_and_a_written_key_overrides_the_merged_one(tmp_path: Path) -> None:
    text = FIXTURE_SPEC.read_text().replace(
        "    - {batch_size: 16, lr_head: 3.0e-3, lr_last_block: 1.0e-3}",
        "    - &base {batch_size: 16, lr_head: 3.0e-3, lr_last_block: 1.0e-3}\n    - {<<: *base, batch_size: 8}",
    )
    assert "<<: *base" in text
    spec = load_spec(_spec_file(tmp_path, text))
    assert [(h.batch_size, h.lr_head) for h in spec.matrix.hparams] == [(16, 3e-3), (8, 3e-3)]


@pytest.mark.parametrize("field", ["training.max_epochs", "training.early_stopping.patience", "explain.gallery"])
def test_true_or_false_is_no_count(field: str) -> None:
    """``max_epochs: true`` was read as 1."""
    with pytest.raises(SpecError, match=f"{field}.*expected a number, not true or false"):
        load_spec(FIXTURE_SPEC, overrides=[f"{field}=true"])


@pytest.mark.parametrize("path", sorted((ROOT / "specs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_committed_spec_validates(path: Path) -> None:
    """Each spec a user is pointed at loads, with its plugins and their options read
    (paper-rehearsal's background_count once broke the options' round trip)."""
    spec = load_spec(path)
    assert expand(spec)
