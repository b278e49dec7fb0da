"""The registry is the gate: what a plugin registers must fit its kind, a name belongs to
one plugin (built-ins cannot be shadowed), what a plugin returns is checked before it is
stored, options are validated by the plugin's own model, and the code of every plugin a
run uses enters its id."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmark.errors import UserError
from benchmark.registry import loading as plugin_loading
from benchmark.registry.calls import PluginOutputError, build_backbone, metric, run_whole_model
from benchmark.run.config import expand
from benchmark.spec.loader import SpecError, load_spec, parse_spec
from tests.conftest import ROOT, run_cli
from tests.factories import lean

FIXTURE = yaml.safe_load((ROOT / "specs" / "fixture.yaml").read_text())

PLUGIN = '''
import numpy as np
from torch import nn
from benchmark.api import Backbone, LayerGroup, hookimpl


def forty_two():
    return 42


def no_weights_net(num_classes, pretrained=False):
    body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_classes))
    return Backbone(nn.Sequential(body, head), [LayerGroup("body", [body]), LayerGroup("head", [head])], body[0])


def leaky_net(num_classes, pretrained=False, weights=None):
    body, head = nn.Conv2d(3, 4, 3), nn.Linear(4, num_classes)
    stray = nn.Linear(2, 2)  # in the model, in no group
    return Backbone(nn.ModuleList([body, head, stray]), [LayerGroup("body", [body]), LayerGroup("head", [head])], body)


def scalar_metric(maps, masks, threshold=None):
    return 0.5


def iou_impostor(maps, masks, threshold=None):
    return np.zeros(len(maps))


@hookimpl
def register_backbones(register):
    register("forty-two", 42)
    register("no-weights-net", no_weights_net)
    register("leaky-net", leaky_net)


@hookimpl
def register_localisation_metrics(register):
    register("iou", iou_impostor)
    register("scalar-metric", scalar_metric)


def brightest(context):
    """A third-party whole-image model: the image's mean grey level is its score."""
    from benchmark.api import WholeImageOutput
    test = context.images[context.split("test")]
    return WholeImageOutput(test.mean(axis=(1, 2)) / 255, test / 255, {"rule": "mean grey"})


def short_answer(context):
    from benchmark.api import WholeImageOutput
    return WholeImageOutput(np.zeros(1), np.zeros((1, 2, 2)))


class BigMaps:
    """Maps of the wrong size."""

    def __init__(self, backbone):
        pass

    def __call__(self, images, targets):
        return np.full((len(images), 3, 3), 0.5, np.float32)


@hookimpl
def register_explainers(register):
    register("big-maps", BigMaps)


@hookimpl
def register_whole_models(register):
    register("brightest", brightest, description="mean grey level")
    register("short-answer", short_answer)
    register("not-callable", 7)
'''


@pytest.fixture
def gate_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "gate_test_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin_loading.reset()
    yield plugin_loading.load_registries(["gate_test_plugin"])
    plugin_loading.reset()
    sys.modules.pop("gate_test_plugin", None)


def test_registration_is_checked_and_a_refused_item_costs_only_itself(gate_plugin) -> None:
    regs = gate_plugin
    errors = [f.error for f in regs.failures if f.plugin == "gate_test_plugin"]
    assert any("registered backbone 'forty-two' as 42: int is not callable" in e for e in errors)
    assert "forty-two" not in regs["backbone"] and "no-weights-net" in regs["backbone"]
    clash = next(e for e in errors if "'iou'" in e)
    assert "already registered by plugin 'localisation' (built-in)" in clash and "gate_test_plugin" in clash
    assert regs.get("localisation", "iou").plugin == "localisation"  # the built-in keeps its name
    assert {"iou-sweep", "pointing-game", "scalar-metric"} <= set(regs["localisation"].names())


def test_a_factory_is_called_with_what_it_accepts(gate_plugin) -> None:
    regs = gate_plugin
    built = build_backbone(regs, "no-weights-net", num_classes=3, pretrained=False)  # no weights= parameter: fine
    assert built.model(__import__("torch").zeros(1, 3, 8, 8)).shape == (1, 3)
    with pytest.raises(UserError, match="no-weights-net.*takes no local weights file"):
        build_backbone(regs, "no-weights-net", num_classes=3, pretrained=False, weights="/some/file.pth")


def test_what_a_plugin_returns_is_checked_and_named(gate_plugin) -> None:
    regs = gate_plugin
    with pytest.raises(PluginOutputError, match="backbone 'leaky-net' .*gate_test_plugin.*do not partition"):
        build_backbone(regs, "leaky-net", num_classes=3, pretrained=False)
    scalar = metric(regs, "scalar-metric")
    with pytest.raises(
        PluginOutputError, match=r"localisation 'scalar-metric'.*one finite score per map: shape \(2,\)"
    ):
        scalar(np.zeros((2, 4, 4)), np.zeros((2, 4, 4), bool), threshold=None)


def test_an_explainers_maps_are_checked_and_the_plugin_named(gate_plugin) -> None:
    import torch

    from benchmark.evaluation.localisation import explain
    from benchmark.registry.calls import make_explainer
    from benchmark.training.device_data import DeviceSplit

    built = build_backbone(gate_plugin, "no-weights-net", num_classes=5, pretrained=False)
    explainer, _ = make_explainer(gate_plugin, "big-maps", built)
    split = DeviceSplit.from_arrays(np.zeros((2, 8, 8), np.uint8), np.array([1, 2]), torch.device("cpu"))
    normaliser = gate_plugin.get("normaliser", "imagenet").obj()
    with pytest.raises(
        PluginOutputError,
        match=r"explainer 'big-maps' \(plugin 'gate_test_plugin'.*returned maps of "
        r"shape \(2, 3, 3\); expected \(2, 8, 8\)",
    ):
        explain(built.model, explainer, split, np.array([0, 1]), np.array([1, 2]), normaliser, 2)


LEAKY_ONLY = """
from benchmark.api import hookimpl
from gate_test_plugin import leaky_net


@hookimpl
def register_backbones(register):
    register("leaky-net", leaky_net)
"""


def test_a_backbone_breaking_its_contract_in_a_run_is_a_message_naming_it(tmp_path: Path) -> None:
    (tmp_path / "gate_test_plugin.py").write_text(PLUGIN)
    (tmp_path / "leaky_plugin.py").write_text(LEAKY_ONLY)
    data = lean(FIXTURE, explainers=["gradcam-batched"])
    data["matrix"] |= {"backbone": ["leaky-net", "timm/test_resnet"], "strategy": ["simultaneous"]}
    data["training"]["max_epochs"] = 2
    data["plugins"] = ["leaky_plugin"]
    spec = tmp_path / "leaky.yaml"
    spec.write_text(yaml.safe_dump(data))
    result = run_cli(
        "run",
        str(spec),
        "--home",
        str(tmp_path / "home"),
        "--reports",
        str(tmp_path / "reports"),
        env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"},
    )
    # issue 24 (11): the broken plugin costs its own run; the other run finishes and is reported
    assert result.code == 1, result.output
    assert "training failed: backbone 'leaky-net' (plugin 'leaky_plugin'" in result.stderr
    assert "do not partition" in result.stderr and "Traceback" not in result.output
    (done,) = [json.loads(p.read_text()) for p in (tmp_path / "home" / "runs" / "fixture").glob("*/result.json")]
    assert done["model"]["backbone"] == "timm/test_resnet"
    assert "timm/test_resnet" in (tmp_path / "reports" / "fixture" / "report.md").read_text()


THREE_OUTPUTS = """
from torch import nn
from benchmark.api import Backbone, LayerGroup, hookimpl


def three_outputs(num_classes, pretrained=False, weights=None):
    body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))  # ignores num_classes
    return Backbone(nn.Sequential(body, head), [LayerGroup("body", [body]), LayerGroup("head", [head])], body[0])


@hookimpl
def register_backbones(register):
    register("three-outputs", three_outputs)
"""


def test_a_classifier_with_the_wrong_number_of_outputs_stops_before_training(tmp_path: Path) -> None:
    """The model's answer is checked on two training patches before the first epoch: the
    message names the backbone and the shape it should give, not the loss's targets."""
    (tmp_path / "three_outputs_plugin.py").write_text(THREE_OUTPUTS)
    data = lean(FIXTURE)
    data["matrix"] |= {"backbone": ["three-outputs"], "strategy": ["simultaneous"]}
    data["plugins"] = ["three_outputs_plugin"]
    spec = tmp_path / "three.yaml"
    spec.write_text(yaml.safe_dump(data))
    result = run_cli("run", str(spec), "--home", str(tmp_path / "home"), env={"PYTHONPATH": str(tmp_path)})
    assert result.code == 1, result.output  # contained to its run (issue 24, 11): the spec has no other
    assert "backbone 'three-outputs': the classifier's output has shape (2, 3), expected (2, 5)" in result.stderr
    assert "Traceback" not in result.output and not list((tmp_path / "home").glob("runs/trained/*.pt"))


def test_an_unknown_plugin_module_exits_2(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(FIXTURE))
    for args in (("validate", str(spec)), ("plugins",)):
        result = run_cli(*args, "--plugin", "no_such_module_xyz")
        assert result.code == 2, result.output
        assert "no_such_module_xyz" in result.stderr and "could not be loaded" in result.stderr


def _spec_with(**explain: object) -> dict:
    data = json.loads(json.dumps(FIXTURE))
    data["explain"] |= explain
    return data


def test_plugin_options_are_validated_by_the_plugins_model_and_enter_the_run_id(tmp_path: Path) -> None:
    plain = expand(parse_spec(_spec_with()))
    finer = expand(parse_spec(_spec_with(baseline={"name": "random", "options": {"cells": 8}})))
    assert [r.training_key for r in plain] == [r.training_key for r in finer]  # the same training
    assert {r.run_id for r in plain}.isdisjoint(r.run_id for r in finer)  # another evaluation
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump(_spec_with(baseline={"name": "random", "options": {"cells": 1}})))
    with pytest.raises(
        SpecError, match=r"line \d+: explain.baseline.options.cells: Input should be greater than or equal to 2"
    ):
        load_spec(spec)
    spec.write_text(yaml.safe_dump(_spec_with(explainers=[{"name": "gradcam", "options": {"colour": "red"}}])))
    with pytest.raises(SpecError, match="explain.explainers\\[0\\].options: explainer 'gradcam' .* takes no options"):
        load_spec(spec)


EXPLAINER_V1 = """
import numpy as np
from benchmark.api import hookimpl


class Flat:
    def __init__(self, backbone):
        pass

    def __call__(self, images, targets):
        return np.full((len(images), *images.shape[-2:]), VALUE, np.float32)


@hookimpl
def register_explainers(register):
    register("flat", Flat)
"""


def test_editing_a_plugin_changes_the_ids_of_the_runs_it_touches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "flat_explainer.py"
    module.write_text("VALUE = 0.5\n" + EXPLAINER_V1)
    monkeypatch.syspath_prepend(str(tmp_path))
    data = _spec_with(explainers=["flat"])
    data["plugins"] = ["flat_explainer"]
    try:
        plugin_loading.reset()
        before = expand(parse_spec(data))
        module.write_text("VALUE = 0.7\n" + EXPLAINER_V1)  # the plugin is edited
        sys.modules.pop("flat_explainer", None)
        plugin_loading.reset()
        after = expand(parse_spec(data))
    finally:
        plugin_loading.reset()
        sys.modules.pop("flat_explainer", None)
    assert {r.run_id for r in before}.isdisjoint(r.run_id for r in after)  # rerun what it touched ...
    assert [r.training_key for r in before] == [r.training_key for r in after]  # ... which is not the training
    assert before[0].plugins["explainer flat"] != after[0].plugins["explainer flat"]


@pytest.mark.slow
def test_rerun_recomputes_and_a_damaged_result_costs_only_its_run(tmp_path: Path) -> None:
    """--rerun recomputes every run; a result of another harness version or a truncated one
    (issue 24, 7) is a message in the report, which shows the other runs, and the next run
    of the spec evaluates that run alone again from its kept training."""
    data = lean(FIXTURE, explainers=["gradcam-batched"])
    data["training"]["max_epochs"] = 2
    data["dataset"]["options"]["images"] = 40
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(data))
    where = ("--home", str(tmp_path / "home"), "--reports", str(tmp_path / "reports"))
    first = run_cli("run", str(spec), *where)
    assert first.code == 0, first.output
    again = run_cli("run", str(spec), *where, "--rerun")
    assert again.code == 0 and "--rerun: the results and trained weights" in again.stdout
    assert "already done" not in again.stdout
    files = {
        json.loads(p.read_text())["config"]["strategy"]: p
        for p in (tmp_path / "home" / "runs" / "fixture").glob("*/result.json")
    }
    damaged, healthy = files["simultaneous"], files["gradual-unfreezing"]
    kept = healthy.stat().st_mtime_ns
    for damage, said in (
        (lambda d: d | {"schema_version": 2}, "a run result of another harness version (schema 2"),
        (None, "a damaged run result (not JSON"),
    ):  # fmt: skip
        text = damaged.read_text()
        damaged.write_text(json.dumps(damage(json.loads(text))) if damage else text[:200])
        report = run_cli("report", str(spec), *where)
        assert report.code == 0, report.output
        shown = (tmp_path / "reports" / "fixture" / "report.md").read_text()
        assert "**Damaged result.**" in shown and said in shown and "gradual-unfreezing" in shown
        rerun = run_cli("run", str(spec), *where)
        assert rerun.code == 0, rerun.output
        assert said in rerun.output and "evaluated again" in rerun.output and "evaluating only" in rerun.output
        assert json.loads(damaged.read_text())["schema_version"] == 4 and healthy.stat().st_mtime_ns == kept
        assert "Traceback" not in report.output + rerun.output


def test_a_whole_image_model_plugin_is_gated_and_its_answer_checked(gate_plugin) -> None:
    from types import SimpleNamespace

    regs = gate_plugin
    errors = [f.error for f in regs.failures if f.plugin == "gate_test_plugin"]
    assert any("registered whole_model 'not-callable' as 7: int is not callable" in e for e in errors)
    images = np.arange(4 * 6 * 5, dtype=np.uint8).reshape(4, 6, 5)
    context = SimpleNamespace(images=images, split=lambda name: np.array([1, 3]))
    out = run_whole_model(regs, "brightest", context, 2)
    np.testing.assert_allclose(out.scores, images[[1, 3]].mean(axis=(1, 2)) / 255)
    assert out.maps.shape == (2, 6, 5) and out.details == {"rule": "mean grey"}
    with pytest.raises(
        PluginOutputError,
        match=r"whole_model 'short-answer'.*gate_test_plugin.*one finite score per "
        r"test image: shape \(2,\)",
    ):
        run_whole_model(regs, "short-answer", context, 2)


def test_every_kind_has_one_contract_that_the_gate_reads() -> None:
    """Contracts stated once (issue 21): each kind's Protocol in benchmark.plugin_types is
    what the gate checks and what its messages quote."""
    from benchmark.plugin_types import CONTRACTS, StrategyFn
    from benchmark.registry import KINDS, gate

    assert set(CONTRACTS) == set(KINDS)
    assert gate.CONTRACTS["strategy"] == f"a callable {gate.signature_text(StrategyFn)}"
    assert gate.CONTRACTS["strategy"] == "a callable (groups, frozen, hparams) -> list[Phase]"

    def two_arguments(groups, frozen):  # the core passes three
        return []

    refused = gate.check("strategy", "short", "p", two_arguments)
    assert refused is not None and refused.endswith("a strategy is a callable (groups, frozen, hparams) -> list[Phase]")

    class NoLabelsFlag:
        def fit(self, chunks): ...
        def __call__(self, images, labels=None): ...
        def state_dict(self): ...

    assert "lacks a boolean uses_labels" in gate.check("normaliser", "n", "p", NoLabelsFlag)
