"""The prototype network's own figures for the report (an explainer's ``panels``):

* the prototype gallery: each prototype's source training patch with the box of its most
  similar region, its class and its last-layer weights (own class, strongest other);
* "this looks like that": for a few test patches, the region each of its most activated
  prototypes lights up, beside that prototype's source patch.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.api import CLASSES, PanelContext
from plugins.prototypes.network import ProtoPNet, similarity
from plugins.prototypes.push import box_of

#: test patches shown in "this looks like that", and prototypes per patch
LOOKS_LIKE_PATCHES = 3
LOOKS_LIKE_PROTOTYPES = 2
NO_BOX = [-1, -1, -1, -1]


def prototype_gallery(model: ProtoPNet, context: PanelContext) -> dict:
    """One tile per prototype (rows: classes), from the push's records."""
    classes = model.prototype_classes.tolist()
    weights = model.last_layer.weight.detach().cpu()
    per_class = len(classes) // len(CLASSES)
    images, boxes, captions = [], [], []
    for j, c in enumerate(classes):
        source = int(model.source_index[j])
        pushed = source >= 0
        images.append(context.train[source] if pushed else np.zeros_like(context.train[0]))
        boxes.append(model.source_box[j].tolist() if pushed else NO_BOX)
        others = torch.cat([weights[:c, j], weights[c + 1 :, j]])
        captions.append(
            f"p{j} {CLASSES[c]}\nw own {weights[c, j]:+.2f}, other max {others.max():+.2f}"
            + ("" if pushed else "\n(not pushed)")
        )
    return {
        "title": "prototype gallery",
        "columns": per_class,
        "images": np.stack(images),
        "boxes": np.asarray(boxes),
        "captions": captions,
    }


def chosen_patches(context: PanelContext) -> np.ndarray:
    """Correctly classified lesion patches first (one per class where there is one), then
    any others, up to ``LOOKS_LIKE_PATCHES``."""
    right = context.predictions == context.labels
    lesion = context.labels != CLASSES.index("background")
    firsts = [int(np.flatnonzero(right & (context.labels == c))[0]) for c in np.unique(context.labels[right & lesion])]
    rest = [int(i) for i in np.flatnonzero(right & lesion)] + list(range(len(context.test)))
    ordered = list(dict.fromkeys(firsts + rest))
    return np.asarray(ordered[:LOOKS_LIKE_PATCHES], dtype=int)


def looks_like(model: ProtoPNet, context: PanelContext) -> dict:
    """Per test patch: the patch, then (the region, the prototype's source) for its top prototypes."""
    positions = chosen_patches(context)
    x = context.test_input(positions)
    sims = similarity(model.distance_maps(x).float())  # (B, P, H, W)
    size = (x.shape[-2], x.shape[-1])
    predicted = torch.as_tensor(context.predictions[positions], device=sims.device)
    contribution = sims.flatten(2).amax(dim=2) * model.last_layer.weight[predicted]  # (B, P)
    images, boxes, captions = [], [], []
    for b, position in enumerate(positions):
        patch = context.test[position]
        images.append(patch)
        boxes.append(NO_BOX)
        captions.append(
            f"test patch {position}: {CLASSES[int(context.labels[position])]}\npredicted {CLASSES[int(predicted[b])]}"
        )
        for j in contribution[b].argsort(descending=True)[:LOOKS_LIKE_PROTOTYPES].tolist():
            source = int(model.source_index[j])
            images += [patch, context.train[source] if source >= 0 else np.zeros_like(patch)]
            boxes += [box_of(sims[b, j], size), model.source_box[j].tolist() if source >= 0 else NO_BOX]
            captions += [
                f"this (similarity {sims[b, j].max():.2f})",
                f"looks like p{j} ({CLASSES[int(model.prototype_classes[j])]})",
            ]
    return {
        "title": "this looks like that",
        "columns": 1 + 2 * LOOKS_LIKE_PROTOTYPES,
        "images": np.stack(images),
        "boxes": np.asarray(boxes),
        "captions": captions,
    }
