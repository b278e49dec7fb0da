"""An explainer's own figures (``panels``, see ``benchmark.plugin_types.PanelContext``):
asked for once per run, checked, and stored beside the result as arrays the report draws
as grids of image tiles (a prototype network's gallery, its "this looks like that" rows)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from benchmark.errors import PluginOutputError
from benchmark.plugin_types import PanelContext
from benchmark.training.device_data import to_input

KEYS = ("title", "columns", "images", "boxes", "captions")


def checked_panel(explainer: str, panel: Any) -> dict[str, np.ndarray]:
    """The panel as arrays, or a PluginOutputError naming the explainer."""
    if not isinstance(panel, dict) or set(panel) != set(KEYS):
        raise PluginOutputError(f"explainer '{explainer}': a panel is a dict with exactly {', '.join(KEYS)}")
    images = np.asarray(panel["images"])
    n = len(images)
    boxes = np.asarray(panel["boxes"], dtype=np.int64).reshape(n, 4)
    captions = np.asarray([str(c) for c in panel["captions"]])
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or len(captions) != n or int(panel["columns"]) < 1:
        raise PluginOutputError(
            f"explainer '{explainer}': panel '{panel['title']}' needs uint8 images (N, H, W), "
            f"one box and caption each, and columns >= 1"
        )
    return {
        "title": np.asarray(str(panel["title"])),
        "columns": np.asarray(int(panel["columns"])),
        "images": images,
        "boxes": boxes,
        "captions": captions,
    }


def own_panels(name: str, explainer: Any, trained: Any, predictions: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Array name (``panel-<explainer>-<i>``) -> the checked panels the explainer draws of its model."""
    train, test = trained.splits["train"], trained.splits["test"]

    def test_input(positions: np.ndarray) -> torch.Tensor:
        idx = torch.as_tensor(np.asarray(positions), device=test.images.device)
        return to_input(test.images[idx], test.labels[idx], trained.normaliser)

    def grey(images: torch.Tensor) -> np.ndarray:  # (N, 1, S, S) as stored -> (N, S, S)
        out = images.cpu().numpy()
        return out[:, 0] if out.ndim == 4 and out.shape[1] == 1 else out

    context = PanelContext(
        grey(train.images), grey(test.images), test_input, test.labels.cpu().numpy(), np.asarray(predictions)
    )
    trained.backbone.model.eval()
    with torch.no_grad():
        panels = explainer.panels(context)
    return {f"panel-{name}-{i}": checked_panel(name, panel) for i, panel in enumerate(panels)}
