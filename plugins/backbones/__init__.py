"""Backbone plugins: the study's four through timm, any timm model (``timm/<name>``) and
any torchvision classification model (``torchvision/<name>``)."""

from benchmark.api import hookimpl


@hookimpl
def register_backbones(register):
    from plugins.backbones.timm_models import PAPER_BACKBONES, paper_backbone

    for name, model_name in PAPER_BACKBONES.items():
        register(
            name,
            paper_backbone(name, model_name),
            description=f"{name}: timm {model_name} (torchvision's ImageNet weights)",
        )
    register(
        "timm/*",
        "plugins.backbones.timm_models:timm_backbone",
        description="any timm model by name, e.g. timm/convnext_tiny",
    )
    register(
        "torchvision/*",
        "plugins.backbones.torchvision_models:torchvision_backbone",
        description="any torchvision classification model, e.g. torchvision/mobilenet_v2",
    )
