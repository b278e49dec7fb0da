"""Prototype networks (ProtoPNet, Chen et al. 2019): an interpretable-by-design model
beside the post-hoc explained CNN, scored by the same localisation metrics.

* backbone ``protopnet/<backbone>``: the prototype network over any registered backbone;
* strategy ``protopnet``: warm-up, joint, push, last layer (``strategy.py``);
* explainer ``prototype-activation``: the target class's prototype similarity maps.

See docs/prototypes.md.
"""

from benchmark.api import hookimpl


@hookimpl
def register_backbones(register):
    from plugins.prototypes.options import ProtoPNetOptions

    register(
        "protopnet/*",
        "plugins.prototypes.backbone:protopnet_backbone",
        options=ProtoPNetOptions,
        wraps=True,
        description="a prototype network (ProtoPNet) over any registered backbone, e.g. protopnet/timm/resnet50",
    )


@hookimpl
def register_strategies(register):
    from plugins.prototypes.options import ProtoPNetStrategyOptions

    register(
        "protopnet",
        "plugins.prototypes.strategy:protopnet",
        options=ProtoPNetStrategyOptions,
        description="ProtoPNet's training: warm-up, joint, push (projection), last layer with L1",
    )


@hookimpl
def register_explainers(register):
    register(
        "prototype-activation",
        "plugins.prototypes.explainer:prototype_activation",
        description="a prototype network's similarity maps of the target class (declines plain CNNs)",
    )
