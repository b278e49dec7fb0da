"""Split a network into ordered layer groups (input to output, head last).

timm models describe their own coarse structure (``group_matcher``: stem, stages,
head); this turns that description into :class:`LayerGroup` objects holding the leaf
modules that own parameters, so a group can be frozen (BatchNorm in eval mode) or given
its own learning rate.
"""

from __future__ import annotations

from collections import defaultdict

from torch import nn

from benchmark.plugin_types import LayerGroup


def leaf_modules_with_params(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules owning parameters directly (timm's BatchNormAct2d has children and parameters)."""
    return [(n, m) for n, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))]


def groups_from_ids(
    model: nn.Module, group_of: dict[str, int], names: dict[int, str] | None = None
) -> list[LayerGroup]:
    """``group_of`` maps leaf module names to group ids; ids are sorted, input to output."""
    buckets: dict[int, list[nn.Module]] = defaultdict(list)
    modules = dict(model.named_modules())
    for name, gid in group_of.items():
        buckets[gid].append(modules[name])
    ordered = sorted(buckets)
    return [LayerGroup((names or {}).get(gid, f"group{i}"), buckets[gid]) for i, gid in enumerate(ordered)]


def timm_groups(model: nn.Module) -> list[LayerGroup]:
    """Coarse timm groups (stem, each stage, and the head when the model has one) of any
    timm model."""
    from timm.models import group_modules

    # torch types nn.Module's dynamic attributes as Tensor | Module; timm models define this method
    matcher = model.group_matcher(coarse=True)  # type: ignore[operator]
    grouped = group_modules(model, matcher)
    group_of = {name: int(gid) for gid, names in grouped.items() for name in names}
    leaves = {n for n, _ in leaf_modules_with_params(model)}
    group_of = {n: g for n, g in group_of.items() if n in leaves}
    ids = sorted(set(group_of.values()))
    classifier = getattr(model, "get_classifier", lambda: None)()
    has_head = classifier is not None and any(True for _ in classifier.parameters())  # num_classes=0: no head
    names = {
        gid: ("stem" if i == 0 else "head" if has_head and i == len(ids) - 1 else f"stage{i}")
        for i, gid in enumerate(ids)
    }
    return groups_from_ids(model, group_of, names)


def weight_layers(group: LayerGroup) -> int:
    """Depth a group contributes: its convolutions and linear layers (nested ones too)."""
    seen = {id(sub): sub for m in group.modules for sub in m.modules()}
    return sum(isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)) for m in seen.values())


def check_partition(model: nn.Module, groups: list[LayerGroup]) -> None:
    """Every parameter in exactly one group (a plugin bug otherwise)."""
    seen: dict[int, str] = {}
    for g in groups:
        for p in g.parameters():
            if id(p) in seen:
                raise ValueError(f"parameter in groups {seen[id(p)]!r} and {g.name!r}")
            seen[id(p)] = g.name
    missing = [n for n, p in model.named_parameters() if id(p) not in seen]
    if missing:
        raise ValueError(f"parameters in no layer group: {', '.join(missing[:5])}")


def count_parameters(modules: list[nn.Module]) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())
