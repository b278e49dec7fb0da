"""``cbis-bench bench train``: the harness's training throughput against raw PyTorch.

Both loops train the same backbone, with the same trainable groups (the strategy's last
phase), batch size, precision and memory format, in the same process, alternating
repeats. Raw PyTorch gets ready-made normalised float tensors on the device; the harness
runs its real epoch (shuffle, index the resident uint8 split, cast, grey to RGB,
normalise, augment, forward, backward, step). The ratio says how much the harness's own
data path costs.
"""

from __future__ import annotations

import statistics
import time
from typing import Any


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    backbone: str = "resnet50",
    batch: int = 64,
    size: int = 224,
    steps: int = 20,
    repeats: int = 5,
    device_name: str = "auto",
    deterministic: bool = True,
    strategy: str = "simultaneous",
    normaliser: str = "imagenet",
    augment: tuple[str, ...] = (),
    whole: tuple[int, int] | None = None,
    whole_model: str = "shen",
) -> dict[str, Any]:
    """Median images/s of raw PyTorch and of the harness's training epoch, and their ratio.
    ``whole`` = (height, width): the network of the whole-image model ``whole_model`` on images of that size
    instead of the patch classifier on ``size`` x ``size`` patches."""
    import numpy as np
    import torch

    from benchmark.data.classes import CLASSES
    from benchmark.registry.loading import registries
    from benchmark.spec.schema import HParams, Training
    from benchmark.training.determinism import configure, seed_everything
    from benchmark.training.device_data import DeviceSplit, fit_chunks, to_input
    from benchmark.training.freezing import frozen_groups, set_trainable
    from benchmark.training.loop import Trainer
    from benchmark.training.session import resolve_device

    device = resolve_device(device_name)
    configure(deterministic)
    generator = seed_everything(0)
    regs = registries()
    from benchmark.registry.calls import build_backbone, make_normaliser, make_phases

    built = build_backbone(regs, backbone, num_classes=len(CLASSES), pretrained=False)
    classes, shape = len(CLASSES), (size, size)
    if whole is not None:
        from benchmark.errors import UserError

        entry = regs.get("whole_model", whole_model)
        network = getattr(entry.obj, "network", None)
        if not callable(network):
            raise UserError(
                f"whole-image model '{whole_model}' trains no network of its own: nothing to time",
                hint="Name one that does, e.g. --whole-model shen.",
            )
        built.model.to(device)
        built, classes, shape = network(built), 2, (int(whole[0]), int(whole[1]))
    model = built.model.to(device)
    hparams = HParams(batch_size=batch)
    phase = make_phases(regs, strategy, built, frozen_groups(built), hparams)[-1]
    trainable = set(phase.learning_rates)
    cuda = device.type == "cuda"

    n = batch * steps
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    labels = rng.integers(0, classes, n)
    split = DeviceSplit.from_arrays(images, labels, device)
    norm = make_normaliser(regs, normaliser)
    norm.fit(fit_chunks(split))
    config = Training(device=device_name, deterministic=deterministic, augment=list(augment))
    trainer = Trainer(model, built.groups, [phase], norm, split, split, hparams, config, generator)

    # Raw PyTorch: pre-normalised float batches already on the device.
    xs = [
        to_input(split.images[i * batch : (i + 1) * batch], split.labels[i * batch : (i + 1) * batch], norm, cuda)
        for i in range(steps)
    ]
    ys = [split.labels[i * batch : (i + 1) * batch] for i in range(steps)]
    loss_fn = torch.nn.CrossEntropyLoss()

    def raw_epoch(optimizer: torch.optim.Optimizer) -> float:
        model.train()
        set_trainable(built.groups, trainable)
        _sync(device)
        start = time.perf_counter()
        for x, y in zip(xs, ys, strict=True):
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                loss = loss_fn(model(x).float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        loss.item()
        _sync(device)
        return n / (time.perf_counter() - start)

    def harness_epoch(optimizer: torch.optim.Optimizer) -> float:
        _sync(device)
        start = time.perf_counter()
        trainer._train_epoch(optimizer, trainable)
        _sync(device)
        return n / (time.perf_counter() - start)

    raw_opt, harness_opt = trainer._optimizer(phase), trainer._optimizer(phase)
    raw_epoch(raw_opt), harness_epoch(harness_opt)  # warm-up: allocator, kernels, caches
    raw, harness = [], []
    for _ in range(repeats):
        raw.append(raw_epoch(raw_opt))
        harness.append(harness_epoch(harness_opt))
    raw_median, harness_median = statistics.median(raw), statistics.median(harness)
    from benchmark.provenance import device_description

    return {
        "backbone": backbone,
        "strategy": strategy,
        "trainable_groups": sorted(built.groups[i].name for i in trainable),
        "batch": batch,
        "size": size if whole is None else f"{shape[0]}x{shape[1]}",
        "whole_image": whole is not None,
        "steps": steps,
        "repeats": repeats,
        "device": device_description(device),
        "mode": ("bf16 + channels_last" if cuda else "fp32") + (", deterministic" if deterministic else ""),
        "raw_images_per_s": raw,
        "harness_images_per_s": harness,
        "raw_median": raw_median,
        "harness_median": harness_median,
        "ratio": harness_median / raw_median,
        "torch_threads": torch.get_num_threads(),
    }
