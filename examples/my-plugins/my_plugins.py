"""A complete third-party cbis-bench plugin: one module, one entry-point line, one item
of every plugin kind, written against ``benchmark.api`` alone.

Install it (``pip install ./examples/my-plugins``) and ``cbis-bench plugins`` lists
``tiny-net``, ``head-then-all``, ``per-image``, ``input-gradient``, ``centre-of-mass``,
the faithfulness metric ``top-decile-drop``, ``toy-blobs``, ``jsonl-file`` and the
whole-image model ``thumbnail``; any spec can then name them
(``tests/test_example_plugins.py`` runs one that uses the eight patch-stage items).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from benchmark.api import (
    CLASSES,
    Audit,
    Backbone,
    Catalogue,
    ImageRecord,
    LayerGroup,
    Lesion,
    LoggedRun,
    Phase,
    WholeImageContext,
    WholeImageOutput,
    hookimpl,
    lesion_class,
    per_depth,
)


# -- a backbone: a network with a fresh head, its layer groups and its Grad-CAM layer ---------
def tiny_net(num_classes: int, pretrained: bool = False, width: int = 16) -> Backbone:
    """A two-block CNN trained from scratch; ``width`` is an option (``{name: tiny-net, options: {width: 8}}``)."""
    from torch import nn

    stem = nn.Sequential(nn.Conv2d(3, width // 2, 3, padding=1), nn.BatchNorm2d(width // 2), nn.ReLU(), nn.MaxPool2d(2))
    block = nn.Sequential(nn.Conv2d(width // 2, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))
    groups = [LayerGroup("stem", [stem]), LayerGroup("block", [block]), LayerGroup("head", [head])]
    return Backbone(nn.Sequential(stem, block, head), groups, target_layer=block[-1])


class TinyNetOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    width: int = Field(16, ge=4, le=256, multiple_of=2)


# -- a strategy: which groups train in each phase, at which rate ---------------------------
def head_then_all(groups, frozen, hparams):
    """The head alone, then every unfrozen group at its per-depth rate."""
    rates = per_depth(groups, frozen, hparams)
    head = len(groups) - 1
    return [Phase("head", {head: rates[head]}), Phase("all", rates)]


# -- a normaliser: fitted on the training split, applied on the device ----------------------
class PerImage:
    """Each image standardised by its own mean and deviation (needs no label, fits nothing)."""

    uses_labels = False

    def fit(self, chunks) -> None:
        for _ in chunks:  # nothing to learn
            pass

    def __call__(self, images, labels=None):
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        return (images - mean) / images.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)

    def state_dict(self) -> dict:
        return {}


# -- an explainer: one map in [0, 1] per image, for one target class each --------------------
class InputGradient:
    """|d logit / d input|, the largest over the colour channels, scaled to [0, 1] per image."""

    def __init__(self, backbone: Backbone) -> None:
        self.model = backbone.model

    def __call__(self, images, targets):
        import torch

        x = images.detach().clone().requires_grad_(True)
        score = self.model(x).gather(1, targets.long().view(-1, 1)).sum()
        (grad,) = torch.autograd.grad(score, x)
        maps = grad.abs().amax(dim=1)
        low, high = maps.amin(dim=(1, 2), keepdim=True), maps.amax(dim=(1, 2), keepdim=True)
        return ((maps - low) / (high - low + 1e-12)).detach()


# -- a localisation metric: one score per map, higher is better -----------------------------
def centre_of_mass(maps: np.ndarray, masks: np.ndarray, threshold=None) -> np.ndarray:
    """1 where the map's centre of mass falls inside the lesion mask, else 0."""
    n, h, w = maps.shape
    total = maps.sum(axis=(1, 2)) + 1e-12
    ys = (maps.sum(axis=2) * np.arange(h)).sum(axis=1) / total
    xs = (maps.sum(axis=1) * np.arange(w)).sum(axis=1) / total
    return masks.astype(bool)[np.arange(n), ys.round().astype(int), xs.round().astype(int)].astype(float)


# -- a faithfulness metric: perturb where the map points, watch the target probability ------
def top_decile_drop(model, inputs, maps, targets) -> np.ndarray:
    """The drop in the target class's probability when the map's top 10% of pixels are
    replaced by noisy linear imputation (one ROAD step, with the harness's helpers)."""
    from benchmark.api import noisy_linear_imputation, removal_masks, target_probability

    removed = removal_masks(maps, 10.0)
    before = target_probability(model, inputs, targets)
    after = target_probability(model, noisy_linear_imputation(inputs, removed), targets)
    return (before - after).cpu().numpy()


# -- a dataset: finds images, lesions and masks; the core cuts and caches the patches --------
class ToyBlobsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    images: int = Field(40, ge=10, le=2000)
    size: int = Field(256, ge=96, le=2048)
    seed: int = 0


KINDS = [
    ("mass", "BENIGN"),
    ("mass", "MALIGNANT"),
    ("calcification", "BENIGN"),
    ("calcification", "MALIGNANT"),
    ("mass", "BENIGN_WITHOUT_CALLBACK"),
]


class ToyBlobs:
    """Generated grey images with one lesion each: a smooth disc (benign mass), a rough one
    (malignant mass), a few (benign) or many (malignant) specks; every fifth image's lesion
    is benign without callback, the images background patches come from."""

    Options = ToyBlobsOptions

    def __init__(self, options: ToyBlobsOptions, *, cache_dir: Path) -> None:
        self.options = options
        self.root = Path(cache_dir) / "toy-blobs" / f"{options.images}-{options.size}-{options.seed}"

    def _draw(self, index: int, kind: tuple[str, str], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        s = self.options.size
        image = (rng.normal(90, 12, (s, s))).clip(0, 255)
        yy, xx = np.mgrid[:s, :s]
        cy, cx, r = rng.integers(s // 4, 3 * s // 4, 2).tolist() + [s // 10]
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        if kind[0] == "mass":
            edge = rng.normal(0, 25, (s, s)) if kind[1] == "MALIGNANT" else 0
            image = np.where(mask, 190 + edge, image)
        else:
            for _ in range(4 if kind[1] == "BENIGN" else 14):
                y, x = (np.array([cy, cx]) + rng.integers(-r, r, 2)).tolist()
                image[max(0, y - 2) : y + 2, max(0, x - 2) : x + 2] = 250
        return image.clip(0, 255).astype(np.uint8), (mask * 255).astype(np.uint8)

    def catalogue(self) -> Catalogue:
        from PIL import Image

        rng = np.random.default_rng(self.options.seed)
        records, audit = [], Audit()
        self.root.mkdir(parents=True, exist_ok=True)
        for i in range(self.options.images):
            kind = KINDS[i % len(KINDS)]
            image_path, mask_path = self.root / f"{i:04d}.png", self.root / f"{i:04d}-mask.png"
            image, mask = self._draw(i, kind, rng)
            if not image_path.exists():
                Image.fromarray(image).save(image_path)
                Image.fromarray(mask).save(mask_path)
            lesion = Lesion("1", kind[0], kind[1], lesion_class(*kind), str(mask_path), f"image {i}")
            records.append(
                ImageRecord(
                    f"toy{i:04d}",
                    str(image_path),
                    "test" if i % 4 == 3 else "train",
                    f"T{i:04d}",
                    (lesion,),
                    kind[1] == "BENIGN_WITHOUT_CALLBACK",
                )
            )
            audit.count("toy images", effect="read")
        return Catalogue(records, audit, source=str(self.root), reader={"toy-blobs": 1})

    def read_image(self, path: Path) -> np.ndarray:
        from PIL import Image

        return np.asarray(Image.open(path))

    def read_mask(self, path: Path) -> np.ndarray:
        return self.read_image(path)


# -- a logger: each finished run as one JSON line (any tracker's client would go here) --------
class JsonlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1)


class JsonlFile:
    """Appends ``{"run_id", "label", "params", "metrics", "epochs"}`` per run to ``path``."""

    Options = JsonlOptions

    def __init__(self, home: Path, spec: str, path: str) -> None:
        self.path = Path(path)

    def log(self, run: LoggedRun) -> None:
        import json

        line = {
            "spec": run.spec,
            "run_id": run.run_id,
            "label": run.label,
            "params": run.params,
            "metrics": run.metrics,
            "epochs": len(run.epochs),
        }
        with self.path.open("a") as out:
            out.write(json.dumps(line, sort_keys=True) + "\n")

    def close(self) -> None:
        pass


# -- a whole-image model: what a spec's whole_image stage builds on each patch run ----------
def thumbnail(context: WholeImageContext) -> WholeImageOutput:
    """The trained patch classifier on the whole mammogram shrunk to one patch: no
    training, no localisation (a flat map at the image's score)."""
    import torch

    test = context.images[context.split("test")]
    x = torch.from_numpy(test).unsqueeze(1).to(context.device).float()
    side = context.patch_size
    x = torch.nn.functional.interpolate(x, size=(side, side), mode="area").round().to(torch.uint8)
    with torch.no_grad():
        proba = torch.softmax(context.backbone.model(context.to_input(x)).float(), 1).cpu().numpy()
    scores = proba[:, [CLASSES.index("malignant_calcification"), CLASSES.index("malignant_mass")]].sum(1)
    maps = np.broadcast_to(scores[:, None, None], test.shape).astype(np.float32)
    return WholeImageOutput(scores, maps.copy(), {"input": f"whole image resized to {side} x {side}"})


# -- the registration hooks: one per kind -------------------------------------------------
@hookimpl
def register_backbones(register):
    register("tiny-net", tiny_net, options=TinyNetOptions)


@hookimpl
def register_strategies(register):
    register("head-then-all", head_then_all)


@hookimpl
def register_normalisers(register):
    register("per-image", PerImage)


@hookimpl
def register_explainers(register):
    register("input-gradient", InputGradient)


@hookimpl
def register_localisation_metrics(register):
    register("centre-of-mass", centre_of_mass)


@hookimpl
def register_faithfulness_metrics(register):
    register("top-decile-drop", top_decile_drop)


@hookimpl
def register_datasets(register):
    register("toy-blobs", ToyBlobs)


@hookimpl
def register_loggers(register):
    register("jsonl-file", JsonlFile)


@hookimpl
def register_whole_models(register):
    register("thumbnail", thumbnail, description="patch classifier on the image shrunk to one patch")
