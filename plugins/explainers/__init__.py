"""Saliency explainers: pytorch-grad-cam's CAM methods (the references), Grad-CAM batched
on the device (the fast path for the LL score), random maps (the chance level) and the
model-free controls every score is set beside (``controls.py``) and Captum's attribution
methods (``captum_methods.py``).

Every explainer is called with normalised images on the model's device and one target
class per image, and returns maps in [0, 1] at input resolution. The core has put the
model in eval mode with gradients enabled on every layer (frozen ones too) and runs
explainers in fp32 (``benchmark/evaluation/localisation.py``).
"""

from __future__ import annotations

from benchmark.api import hookimpl
from plugins.explainers.cam_methods import cam_method

#: registered name -> pytorch-grad-cam class
CAM_METHODS = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "eigencam": "EigenCAM",
}


#: the model-free controls: registered name, class, what the map is
CONTROLS = (
    ("constant", "ConstantMaps", "every pixel 1 (the whole patch)"),
    ("centre", "CentreMaps", "a Gaussian centred on the patch, sigma a quarter of the side"),
    ("intensity", "IntensityMaps", "the patch's brightness before normalisation, min-max scaled"),
    ("edges", "EdgeMaps", "Sobel gradient magnitude of the patch, min-max scaled"),
)


@hookimpl
def register_explainers(register):
    for name, method in CAM_METHODS.items():
        note = " (class-agnostic: ignores the target)" if method == "EigenCAM" else ""
        register(name, cam_method(method, note), aliases=("gradcam-plusplus",) if name == "gradcam++" else ())
    register(
        "scorecam", cam_method("ScoreCAM", " (slow: one forward pass per channel; list it to use it)", batch_size=64)
    )
    register(
        "gradcam-batched",
        "plugins.explainers.batched_gradcam:BatchedGradCam",
        description="Grad-CAM batched on the model's device: pytorch-grad-cam's maths, several times faster",
    )
    from plugins.explainers.random_maps import RandomMapsOptions

    register(
        "random",
        "plugins.explainers.random_maps:RandomMaps",
        options=RandomMapsOptions,
        description="smooth random maps: the chance level of every localisation score",
    )
    for name, cls, what in CONTROLS:
        register(name, f"plugins.explainers.controls:{cls}", description=f"model-free control: {what}")
    from plugins.explainers.captum_methods import METHODS

    for name, (cls, options, what) in METHODS.items():
        register(name, f"plugins.explainers.captum_methods:{cls}", options=options, description=what)
