"""One registry type for every kind: lookups, suggestions, clashes, lazy entries."""

from __future__ import annotations

import pytest

from benchmark.errors import UnknownNameError, UserError
from benchmark.registry import Entry, Registry
from benchmark.registry.loading import registries


def _entry(name: str, target: object = object(), aliases: tuple[str, ...] = ()) -> Entry:
    return Entry(name=name, kind="backbone", target=target, source="test", plugin="tests", aliases=aliases)


def test_unknown_name_suggests_the_closest_and_lists_the_known() -> None:
    reg = Registry("backbone")
    for name in ("resnet34", "resnet50", "vgg16", "vgg19"):
        reg.add(_entry(name))
    with pytest.raises(UnknownNameError) as info:
        reg.get("resnt50")
    message = str(info.value)
    assert "Unknown backbone 'resnt50'" in message
    assert "Did you mean: resnet50?" in message
    assert "Available: resnet34, resnet50, vgg16, vgg19 (4 total)" in message


def test_natural_order_aliases_and_clashes() -> None:
    reg = Registry("strategy")
    reg.add(_entry("b10"))
    reg.add(_entry("b9", aliases=("nine",)))
    assert reg.names() == ["b9", "b10"]
    assert reg.get("nine").name == "b9"
    with pytest.raises(UserError, match="is already registered by plugin .tests."):
        reg.add(_entry("nine"))


def test_family_entry_serves_every_variant() -> None:
    reg = Registry("backbone")
    reg.add(_entry("timm/*", target=lambda variant, **kw: ("built", variant, kw)))
    entry = reg.get("timm/convnext_tiny")
    assert entry.name == "timm/convnext_tiny"
    assert entry.obj(num_classes=5) == ("built", "convnext_tiny", {"num_classes": 5})
    with pytest.raises(UnknownNameError):
        reg.get("timm/")


def test_lazy_reference_is_imported_on_first_use() -> None:
    entry = _entry("lazy", target="json:dumps")
    assert entry.obj([1]) == "[1]"
    broken = _entry("broken", target="no_such_module_xyz:thing")
    with pytest.raises(UserError, match="could not be loaded"):
        _ = broken.obj


def test_builtins_register_every_kind_through_entry_points() -> None:
    regs = registries()
    assert not [f for f in regs.failures if f.source == "built-in"]
    names = {e.kind: set() for e in regs.entries()}
    for e in regs.entries():
        names[e.kind].add(e.name)
        assert e.source == "built-in"
    assert {"vgg16", "vgg19", "resnet34", "resnet50", "timm/*"} <= names["backbone"]
    assert {"simultaneous", "gradual-unfreezing"} <= names["strategy"]
    assert {"imagenet", "dataset", "per-class"} <= names["normaliser"]
    assert {"gradcam", "random"} <= names["explainer"]
    assert {"iou"} <= names["localisation"]
    assert {"cbis-ddsm", "synthetic-cbis-ddsm"} <= names["dataset"]
