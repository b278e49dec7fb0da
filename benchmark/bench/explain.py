"""``cbis-bench bench explain``: LL-evaluation throughput of two Grad-CAM implementations.

Both run in one process on the same model, the same inputs and the same targets (each
image's predicted class, as the LL score uses): by default pytorch-grad-cam's GradCAM
(the reference) and the batched on-device Grad-CAM. One step is what LL evaluation does
per batch: explain inside the harness's ``explaining()`` guard, then score the maps
against masks with the LL metric. Reported: median images/s over the repeats (after
warm-up), the ratio, and the largest per-pixel difference between the two maps; then ROAD
(most relevant first, 10 ... 90%) on the candidate's maps of the first ``road_batch``
images, pytorch-grad-cam's against the batched one, with their ratio and the largest
difference of their scores.
"""

from __future__ import annotations

import re
import statistics
import time
from typing import Any


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    backbone: str = "resnet50",
    size: int = 224,
    batch: int = 64,
    repeats: int = 5,
    warmup: int = 1,
    device: str = "auto",
    reference: str = "gradcam",
    candidate: str = "gradcam-batched",
    metric: str = "iou",
    seed: int = 0,
    road_batch: int = 8,
    road_repeats: int = 1,
) -> dict[str, Any]:
    """Time ``reference`` and ``candidate`` on one model and batch; return the figures."""
    from benchmark.errors import UserError
    from benchmark.registry.loading import registries

    if reference == candidate:
        raise UserError(f"--reference and --candidate are both '{reference}': name two explainers to compare")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", device):
        raise UserError(f"--device {device!r}: expected auto, cpu, cuda, cuda:N or mps")
    regs = registries()  # names are checked before anything heavy is built
    for kind, name in (
        ("explainer", reference),
        ("explainer", candidate),
        ("localisation", metric),
        ("backbone", backbone),
    ):
        regs.get(kind, name)

    import numpy as np
    import torch

    from benchmark.data.classes import CLASSES
    from benchmark.evaluation.localisation import explaining
    from benchmark.provenance import device_description
    from benchmark.spec.schema import Threshold
    from benchmark.training.session import resolve_device

    dev = resolve_device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {device}: this torch build sees no CUDA device")
    torch.manual_seed(seed)  # the same random weights on every run
    from benchmark.registry.calls import build_backbone, make_explainer
    from benchmark.registry.calls import metric as checked_metric

    built = build_backbone(regs, backbone, num_classes=len(CLASSES), pretrained=False)
    score = checked_metric(regs, metric)
    model = built.model.to(dev).eval()
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(batch, 3, size, size, generator=generator).to(dev)
    with torch.no_grad():
        targets = model(images).argmax(dim=1)
    yy, xx = np.mgrid[:size, :size]
    masks = np.broadcast_to(np.hypot(yy - size / 2, xx - size / 2) <= size / 4, (batch, size, size))

    rows, maps = {}, {}
    for name in (reference, candidate):
        explainer, _ = make_explainer(regs, name, built)

        def step(explainer: Any = explainer) -> np.ndarray:  # bound now: the loop rebinds the name
            with explaining(model):
                out = explainer(images, targets)
            out = out.detach().float().cpu().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, np.float32)
            score(out, masks, threshold=Threshold())
            _sync(dev)
            return out

        for _ in range(warmup):
            step()
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            maps[name] = step()
            seconds.append(time.perf_counter() - start)
        median = statistics.median(seconds)
        rows[name] = {
            "images_per_s": batch / median,
            "median_s": median,
            "min_s": min(seconds),
            "max_s": max(seconds),
            "zero_maps": int((maps[name].reshape(batch, -1).max(axis=1) <= 0).sum()),
        }
        if dev.type == "cuda":
            rows[name]["device_peak_mib"] = torch.cuda.max_memory_allocated(dev) / 2**20
    road = (
        measure_road(
            regs, model, images[:road_batch], maps[candidate][:road_batch], targets[:road_batch], road_repeats, dev
        )
        if road_batch
        else None
    )
    return {
        "backbone": backbone,
        "size": size,
        "batch": batch,
        "repeats": repeats,
        "warmup": warmup,
        "device": device_description(dev),
        "torch": torch.__version__,
        "reference": reference,
        "candidate": candidate,
        "results": rows,
        "ratio": rows[candidate]["images_per_s"] / rows[reference]["images_per_s"],
        "max_abs_diff": float(np.abs(maps[reference] - maps[candidate]).max()),
        "road": road,
    }


#: ROAD's removal shares: pytorch-grad-cam's defaults, which the harness's ROAD uses too
ROAD_PERCENTILES = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]


def measure_road(regs: Any, model: Any, images: Any, maps: Any, targets: Any, repeats: int, dev: Any) -> dict[str, Any]:
    """ROAD most-relevant-first on the same maps and inputs: pytorch-grad-cam's (its
    sparse solver, image by image on the CPU) against the harness's batched on-device
    ``road-morf``, both without imputation noise so their scores can be compared;
    images/s (median over ``repeats``), the ratio and the largest score difference."""
    import numpy as np
    import torch
    from pytorch_grad_cam.metrics.perturbation_confidence import PerturbationConfidenceMetric, RemoveMostRelevantFirst
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    from benchmark.registry.calls import faithfulness_metric
    from benchmark.spec.schema import PluginRef

    ours = faithfulness_metric(
        regs, PluginRef(name="road-morf", options={"percentiles": ROAD_PERCENTILES, "noise": 0.0})
    )
    cams = np.asarray(maps, dtype=np.float32)
    n = len(cams)

    def reference() -> np.ndarray:  # pytorch-grad-cam's percentile p keeps p% of the pixels: 100 - p removed
        steps = [
            PerturbationConfidenceMetric(RemoveMostRelevantFirst(100 - p, NoisyLinearImputer(noise=0.0)))(
                images, cams, [ClassifierOutputSoftmaxTarget(int(t)) for t in targets], model
            )
            for p in ROAD_PERCENTILES
        ]
        return -np.mean(steps, axis=0)

    def candidate() -> np.ndarray:
        with torch.no_grad():
            out = np.asarray(ours(model, images, torch.as_tensor(cams, device=dev), targets).scores)
        _sync(dev)
        return out

    rows, scores = {}, {}
    for name, step in (("pytorch-grad-cam ROAD", reference), ("road-morf (batched)", candidate)):
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            scores[name] = step()
            seconds.append(time.perf_counter() - start)
        rows[name] = {"images_per_s": n / statistics.median(seconds), "median_s": statistics.median(seconds)}
    a, b = scores.values()
    return {
        "images": n,
        "percentiles": ROAD_PERCENTILES,
        "results": rows,
        "ratio": rows["road-morf (batched)"]["images_per_s"] / rows["pytorch-grad-cam ROAD"]["images_per_s"],
        "max_abs_diff": float(np.abs(a - b).max()),
    }
