"""The whole-image stage of ``cbis-bench run``: after the patch runs, each chosen patch
run feeds each whole-image model of the spec, and each pair's result is stored under
``<store>/<spec>/whole/<id>/result.json`` (written atomically, last: it marks the pair
done, so a second run of the spec skips it), beside its gallery arrays and, for a
trained model, its checkpoint (a killed run resumes from it). The id covers the patch run's id, the
model, the ``whole_image`` settings, the images and the harness version; the patch
runs' ids never see any of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmark import __version__
from benchmark.errors import UserError
from benchmark.files import atomic_write, atomic_write_json, lock
from benchmark.hashing import stable_hash
from benchmark.registry.calls import run_whole_model
from benchmark.registry.loading import Registries
from benchmark.run.config import RunConfig, expand
from benchmark.run.store import RunStore
from benchmark.spec.schema import PluginRef, Spec, labels
from benchmark.whole import WHOLE
from benchmark.whole.images import WholeImages
from benchmark.whole.records import WholeResult, WholeTest

RESULT = "result.json"
GALLERY = "gallery.npz"
AUDIT = "audit.json"
CHECKPOINT = "training.pt"  # the Shen model's resume checkpoint, then its trained weights


def whole_folder(store: RunStore) -> Path:
    return store.folder / WHOLE


def chosen_runs(spec: Spec, store: RunStore, regs: Registries | None = None) -> list[RunConfig]:
    """The finished patch runs that feed the stage: all, or the selection's kept ones."""
    loaded = [(r, store.readable(r.run_id)) for r in expand(spec, regs)]
    results = {r.run_id: result for r, result in loaded if result is not None}
    runs = [r for r, result in loaded if result is not None]
    assert spec.whole_image is not None
    if spec.whole_image.patch_runs == "selected" and spec.select is not None:
        from benchmark.selection import select

        kept = select(runs, results, spec.select).kept()
        runs = [r for r in runs if r.run_id in kept]
    return runs


def settings_hash(spec: Spec) -> str:
    """What of ``whole_image`` decides a result (not which runs or models are asked for)."""
    assert spec.whole_image is not None
    return stable_hash(
        {
            "settings": spec.whole_image.model_dump(exclude={"gallery", "sensitivity_at", "patch_runs", "models"}),
            "dataset": spec.dataset.model_dump(exclude={"patches"}),
            "harness": __version__,
        }
    )


def whole_id(spec: Spec, run: RunConfig, model: str, images_key: str, code: str = "") -> str:
    """The pair's id: the patch run, the model and its code (plugin provenance), the
    settings and the images."""
    return stable_hash(
        {"patch_run": run.run_id, "model": model, "code": code, "settings": settings_hash(spec), "images": images_key}
    )


def load_results(store: RunStore, spec: Spec) -> list[WholeResult]:
    """The stored whole-image results of the spec's current settings and patch runs
    (report time), their image-level numbers recomputed from the stored test scores at the
    spec's ``report.bootstrap`` and ``whole_image.sensitivity_at``: what the report says of
    them is always what the spec asks for, and asking for another level retrains nothing."""
    from benchmark.whole.evaluate import classification

    assert spec.whole_image is not None
    folder = whole_folder(store)
    wanted = labels(spec.whole_image.models)
    runs = {r.run_id for r in chosen_runs(spec, store)}  # a result of a patch run no longer in the spec is not shown
    out = []
    for path in sorted(folder.glob(f"*/{RESULT}")) if folder.exists() else []:
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(found, dict) or found.get("settings") != settings_hash(spec):
            continue
        if found.get("model") not in wanted or found.get("patch_run") not in runs:
            continue
        try:
            test = WholeTest.model_validate(found["test"])
            found |= classification(
                np.asarray(test.labels), np.asarray(test.scores), spec.report.bootstrap, spec.whole_image.sensitivity_at
            )
            out.append(WholeResult.model_validate(found))
        except (KeyError, TypeError, ValueError):  # damaged: left out, as an unreadable file is
            continue
    order = {m: i for i, m in enumerate(wanted)}
    return sorted(out, key=lambda r: (r.patch_label, order[r.model]))


def load_audit(store: RunStore) -> dict[str, Any] | None:
    try:
        return json.loads((whole_folder(store) / AUDIT).read_text())["audit"]
    except (OSError, ValueError, KeyError):
        return None


def load_gallery(store: RunStore, result_id: str) -> dict[str, np.ndarray] | None:
    try:
        with np.load(whole_folder(store) / result_id / GALLERY, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError):
        return None


def _patch_model(run: RunConfig, data: Any, regs: Registries, store: RunStore, device: Any) -> tuple[Any, Any]:
    """The patch run's trained backbone and its normaliser (fitted again on the same
    training patches: deterministic, and the stored result keeps only its statistics)."""
    from benchmark.registry.calls import build_backbone, make_normaliser
    from benchmark.training import checkpoint
    from benchmark.training.device_data import DeviceSplit, fit_chunks

    state = checkpoint.load(store.trained_path(run.training_key, data.hash))
    if state is None or not state.get("finished"):
        raise UserError(
            f"whole_image: the trained weights of patch run {run.run_id} ({run.label}) are missing",
            hint="Run the spec with --rerun to train the patch runs again.",
        )
    backbone = build_backbone(regs, run.backbone_ref, num_classes=5, pretrained=False)
    backbone.model.load_state_dict(state["model"])
    backbone.model.to(device).eval()
    normaliser = make_normaliser(regs, run.normaliser_ref)
    if normaliser.uses_labels:
        raise UserError(
            f"whole_image: normaliser '{run.normaliser}' needs each image's label; whole images have "
            "no patch class at test time",
            hint="Use normaliser: dataset or imagenet.",
        )
    train = data.indices("train")
    labels = data.patches.table["label"].to_numpy()
    normaliser.fit(fit_chunks(DeviceSplit.from_arrays(data.patches.images[train], labels[train], device)))
    return backbone, normaliser


def _context(
    spec: Spec,
    run: RunConfig,
    backbone: Any,
    normaliser: Any,
    whole: WholeImages,
    device: Any,
    regs: Registries,
    checkpoint_path: Path,
    say: Callable[[str], None],
) -> Any:
    """The :class:`WholeImageContext` of one patch run: its network, the whole images and
    the core's services (input, training as the patch stage trains, autocast)."""
    from benchmark.plugin_types import WholeImageContext
    from benchmark.training.determinism import configure, seed_everything
    from benchmark.training.device_data import to_input
    from benchmark.training.loop import mixed_precision

    wi = spec.whole_image
    assert wi is not None
    cuda = getattr(device, "type", str(device)) == "cuda"
    # seeded before the model builds anything (a new top's initial weights), so a rerun
    # that skips the patch runs builds the same model
    configure(spec.training.deterministic)
    generator = seed_everything(run.seed)

    def autocast() -> Any:
        return mixed_precision(cuda)

    def train(model: Any) -> dict[str, Any]:
        return _train(spec, run, model, normaliser, whole, device, regs, generator, checkpoint_path, say)

    return WholeImageContext(
        backbone=backbone,
        normaliser=normaliser,
        images=whole.images,
        labels=whole.labels,
        split=whole.indices,
        patch_size=spec.dataset.patches.size,
        settings=wi,
        device=device,
        to_input=lambda images: to_input(images, None, normaliser, cuda),
        train=train,
        autocast=autocast,
        say=say,
    )


def _train(
    spec: Spec,
    run: RunConfig,
    model: Any,
    normaliser: Any,
    whole: WholeImages,
    device: Any,
    regs: Registries,
    generator: Any,
    checkpoint_path: Path,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Train a whole-image model (a 2-class Backbone) as the patch stage trains: the patch
    run's strategy and seed, early stopping, best-checkpoint carry-over, determinism,
    gradient accumulation to ``effective_batch`` and resume from ``checkpoint_path``."""
    from benchmark.registry.calls import make_phases
    from benchmark.spec.schema import HParams
    from benchmark.training.device_data import DeviceSplit
    from benchmark.training.freezing import frozen_groups
    from benchmark.training.loop import Trainer

    wi = spec.whole_image
    assert wi is not None
    hparams = HParams(
        batch_size=wi.batch_size,
        accumulate=wi.accumulate,
        lr_head=wi.lr,
        lr_last_block=wi.lr_features,
        lr_decay=run.hparams.lr_decay,
        weight_decay=run.hparams.weight_decay,
    )
    phases = make_phases(regs, run.strategy_ref, model, frozen_groups(model), hparams)
    config = spec.training.model_copy(update={"max_epochs": wi.epochs, "eval_batch_size": wi.batch_size})
    splits = {
        name: DeviceSplit.from_arrays(whole.images[whole.indices(name)], whole.labels[whole.indices(name)], device)
        for name in ("train", "val")
    }
    trainer = Trainer(
        model.model,
        model.groups,
        phases,
        normaliser,
        splits["train"],
        splits["val"],
        hparams,
        config,
        generator,
        checkpoint_path,
        30.0,
        lambda record, most: say(f"    epoch {record.epoch}: val loss {record.val_loss:.4f}"),
    )
    fit = trainer.fit()
    return {
        "training": fit.to_dict(),
        "phases": [p.name for p in phases],
        "effective_batch": wi.batch_size * wi.accumulate,
    }


def run_whole_stage(
    spec: Spec, regs: Registries, store: RunStore, prepared: dict[str, Any], home: Path, say: Callable[[str], None]
) -> list[WholeResult]:
    """Compute every (patch run, model) pair not yet done; return the new results."""
    from benchmark.run.data import make_dataset
    from benchmark.training.session import resolve_device
    from benchmark.whole.images import prepare_whole

    wi = spec.whole_image
    if wi is None:
        return []
    runs = chosen_runs(spec, store, regs)
    if not runs:
        raise UserError("whole_image: no finished patch run to build on")
    dataset = make_dataset(spec, regs, home / "cache")
    t0 = time.perf_counter()
    whole, hit = prepare_whole(dataset, dataset.catalogue(), wi.image_size, spec.dataset.validation, home / "cache")
    say(
        f"whole images: {len(whole.labels)} mammograms at {wi.image_size[0]} x {wi.image_size[1]}"
        + (" (from the cache)" if hit else "")
        + f" in {time.perf_counter() - t0:.1f} s"
    )
    atomic_write_json(whole_folder(store) / AUDIT, {"audit": whole.audit.to_dict(), "counts": whole.counts()})
    device = resolve_device(spec.training.device)
    done, new = 0, []
    for run in runs:
        for ref in wi.models:
            name, entry = ref.label(), regs.get("whole_model", ref.name)
            rid = whole_id(spec, run, name, whole.key, entry.provenance or entry.plugin)
            folder = whole_folder(store) / rid
            with lock(folder):  # one process computes a pair; another waits, then finds it done
                if (folder / RESULT).exists():
                    done += 1
                    continue
                say(f"  whole image: {name} on patch run {run.run_id} ({run.label}): started")
                result = _compute(spec, run, ref, rid, folder, whole, prepared[run.variant], regs, store, device, say)
            say(f"  whole image: {name} on patch run {run.run_id}: AUC {result.auc.estimate:.3f}")
            new.append(result)
    if done and not new:
        say(f"whole image: all {done} result(s) already done")
    return new


def _compute(
    spec: Spec,
    run: RunConfig,
    ref: PluginRef,
    rid: str,
    folder: Path,
    whole: WholeImages,
    data: Any,
    regs: Registries,
    store: RunStore,
    device: Any,
    say: Callable[[str], None],
) -> WholeResult:
    """One (patch run, model) pair: its scores, maps, metrics and measurements, stored."""
    from benchmark import memory
    from benchmark.whole.evaluate import classification, localisation

    wi = spec.whole_image
    assert wi is not None
    test = whole.indices("test")
    labels = whole.labels[test]
    reset = memory.reset_peaks(device)
    start = time.perf_counter()
    backbone, normaliser = _patch_model(run, data, regs, store, device)
    context = _context(spec, run, backbone, normaliser, whole, device, regs, folder / CHECKPOINT, say)
    output = run_whole_model(regs, ref, context, len(test))
    scores, maps, details = output.scores, output.maps, output.details
    seconds = time.perf_counter() - start
    result = WholeResult.model_validate(
        {
            "id": rid,
            "settings": settings_hash(spec),
            "model": ref.label(),
            "description": regs.get("whole_model", ref.name).description or ref.label(),
            "patch_run": run.run_id,
            "patch_label": run.label,
            "backbone": run.backbone,
            "strategy": run.strategy,
            "images_key": whole.key,
            "image_size": list(wi.image_size),
            "counts": whole.counts(),
            **classification(labels, scores, spec.report.bootstrap, wi.sensitivity_at),
            "localisation": localisation(maps, whole.masks[test], spec.explain.localisation.threshold, run.seed),
            "test": {
                "keys": whole.table["key"].to_numpy()[test].tolist(),
                "labels": labels.tolist(),
                "scores": [float(s) for s in scores],
            },
            "details": details,
            "measurements": {
                "seconds": round(seconds, 3),
                "images_per_second": round(len(test) / seconds, 2),
                "memory": memory.peaks(device, reset),
            },
        }
    )
    pick = _gallery_rows(labels, whole.masks[test], wi.gallery)
    atomic_write(
        folder / GALLERY,
        lambda fh: np.savez_compressed(
            fh,
            images=whole.images[test][pick],
            masks=whole.masks[test][pick],
            maps=maps[pick].astype(np.float16),
            labels=labels[pick],
            scores=scores[pick],
        ),
    )
    atomic_write_json(folder / RESULT, result.model_dump(mode="json"))  # last: it marks the pair done
    return result


def _gallery_rows(labels: np.ndarray, masks: np.ndarray, count: int) -> np.ndarray:
    """Images with a lesion, malignant and benign in turn (so the gallery shows both
    labels), ``count`` in all."""
    has = np.asarray(masks.reshape(len(masks), -1).any(1))
    malignant = [i for i in range(len(labels)) if labels[i] == 1 and has[i]]
    benign = [i for i in range(len(labels)) if labels[i] == 0 and has[i]]
    turns = [i for pair in zip(malignant, benign, strict=False) for i in pair]  # alternate while both have one
    rest = malignant[len(turns) // 2 :] + benign[len(turns) // 2 :]
    return np.asarray((turns + rest)[:count], dtype=int)
