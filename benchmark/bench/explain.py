"""``cbis-bench bench explain``: LL-evaluation throughput of two Grad-CAM implementations.

Both run in one process on the same model, the same inputs and the same targets (each
image's predicted class, as the LL score uses): by default pytorch-grad-cam's GradCAM
(the reference) and the batched on-device Grad-CAM. One step is what LL evaluation does
per batch: explain inside the harness's ``explaining()`` guard, then score the maps
against masks with the LL metric. Reported: median images/s over the repeats (after
warm-up), the ratio, and the largest per-pixel difference between the two maps.
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


def measure(backbone: str = "resnet50", size: int = 224, batch: int = 64, repeats: int = 5, warmup: int = 1,
            device: str = "auto", reference: str = "gradcam", candidate: str = "gradcam-batched", metric: str = "iou",
            seed: int = 0) -> dict[str, Any]:
    """Time ``reference`` and ``candidate`` on one model and batch; return the figures."""
    from benchmark.errors import UserError
    from benchmark.registry.loading import registries

    if reference == candidate:
        raise UserError(f"--reference and --candidate are both '{reference}': name two explainers to compare")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", device):
        raise UserError(f"--device {device!r}: expected auto, cpu, cuda, cuda:N or mps")
    regs = registries()  # names are checked before anything heavy is built
    for kind, name in (("explainer", reference), ("explainer", candidate), ("localisation", metric), ("backbone", backbone)):
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

        def step() -> np.ndarray:
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
        rows[name] = {"images_per_s": batch / median, "median_s": median, "min_s": min(seconds), "max_s": max(seconds),
                      "zero_maps": int((maps[name].reshape(batch, -1).max(axis=1) <= 0).sum())}
        if dev.type == "cuda":
            rows[name]["device_peak_mib"] = torch.cuda.max_memory_allocated(dev) / 2**20
    return {
        "backbone": backbone, "size": size, "batch": batch, "repeats": repeats, "warmup": warmup,
        "device": device_description(dev), "torch": torch.__version__, "reference": reference, "candidate": candidate,
        "results": rows, "ratio": rows[candidate]["images_per_s"] / rows[reference]["images_per_s"],
        "max_abs_diff": float(np.abs(maps[reference] - maps[candidate]).max()),
    }
