"""One run's training: build the backbone, fit the normaliser, run the strategy's phases.

Returns everything evaluation needs (the trained model, the device-resident splits, the
fitted normaliser) plus what the result records about training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.data.classes import CLASSES
from benchmark.plugin_types import Backbone, Normaliser, Phase
from benchmark.registry.calls import build_backbone, check_logits, check_normaliser_state, make_normaliser, make_phases
from benchmark.registry.loading import Registries
from benchmark.run.config import RunConfig
from benchmark.training.determinism import configure, seed_everything
from benchmark.training.device_data import DeviceSplit, fit_chunks, to_input
from benchmark.training.freezing import frozen_groups
from benchmark.training.loop import FitResult, Trainer


@dataclass
class TrainedRun:
    backbone: Backbone
    normaliser: Normaliser
    splits: dict[str, DeviceSplit]
    indices: dict[str, np.ndarray]  # patch rows of each split
    phases: list[Phase]
    frozen: int
    fit: FitResult
    device: torch.device
    determinism: dict[str, Any] = field(default_factory=dict)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def check_outputs(run: RunConfig, backbone: Backbone, normaliser: Normaliser, train: DeviceSplit) -> None:
    """Before any epoch: the fitted normaliser's state can be stored and the model answers
    two training patches with finite logits, one per class. A plugin that breaks either is
    then a message naming it, not a failure at the loss or after training when the result
    is written. (An eval-mode forward without gradients: no state or random draw moves.)"""
    check_normaliser_state(f"normaliser '{run.normaliser_ref.label()}'", normaliser.state_dict())
    labels = train.labels[:2]
    was_training = backbone.model.training
    backbone.model.eval()
    with torch.no_grad():
        logits = backbone.model(to_input(train.images[:2], labels, normaliser))
    backbone.model.train(was_training)
    check_logits(f"backbone '{run.backbone_ref.label()}'", logits, len(labels), len(CLASSES))


def train_run(
    run: RunConfig,
    images: np.ndarray,
    labels: np.ndarray,
    split: np.ndarray,
    regs: Registries,
    checkpoint_path: Path | None,
    *,
    on_epoch: Callable[..., None] | None = None,
    checkpoint_every_s: float = 30.0,
) -> TrainedRun:
    """Train one run on patches ``images`` with ``labels`` split into train/val/test."""
    cfg = run.spec.training
    device = resolve_device(cfg.device)
    determinism = configure(cfg.deterministic)
    generator = seed_everything(run.seed)

    backbone = build_backbone(
        regs,
        run.backbone_ref,
        num_classes=len(CLASSES),
        pretrained=cfg.pretrained,
        weights=cfg.weights.get(run.backbone_ref.name),
    )
    backbone.model.to(device)
    frozen = frozen_groups(backbone)
    phases = make_phases(regs, run.strategy_ref, backbone, frozen, run.hparams)

    indices = {name: np.flatnonzero(split == name) for name in ("train", "val", "test")}
    splits = {name: DeviceSplit.from_arrays(images[idx], labels[idx], device) for name, idx in indices.items()}
    normaliser = make_normaliser(regs, run.normaliser_ref)
    normaliser.fit(fit_chunks(splits["train"]))
    check_outputs(run, backbone, normaliser, splits["train"])

    trainer = Trainer(
        backbone.model,
        backbone.groups,
        phases,
        normaliser,
        splits["train"],
        splits["val"],
        run.hparams,
        cfg,
        generator,
        checkpoint_path,
        checkpoint_every_s,
        on_epoch,
    )
    fit = trainer.fit()
    return TrainedRun(backbone, normaliser, splits, indices, phases, frozen, fit, device, determinism)


def train_on_permuted_labels(
    run: RunConfig,
    images: np.ndarray,
    labels: np.ndarray,
    split: np.ndarray,
    regs: Registries,
    checkpoint_path: Path | None,
    seed: int,
    *,
    checkpoint_every_s: float = 30.0,
) -> TrainedRun:
    """The run trained exactly as it is, on its training and validation patches' labels
    shuffled among them (seeded): a model that learnt nothing true about the images, for
    the sanity check's data randomisation (Adebayo et al. 2018). The test labels stay."""
    shuffled = np.asarray(labels).copy()
    training = np.flatnonzero(np.isin(split, ("train", "val")))
    shuffled[training] = np.random.default_rng(seed).permutation(shuffled[training])
    return train_run(run, images, shuffled, split, regs, checkpoint_path, checkpoint_every_s=checkpoint_every_s)
