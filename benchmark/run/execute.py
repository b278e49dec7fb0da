"""One run, start to end: train (or pick up the kept weights), evaluate, explain, store
the typed result. Every stage lives in its own module; every choice comes from a plugin
named in the spec.

The trained weights are kept under the run's training key (``RunStore.trained_path``),
behind a lock: a killed run resumes from them, a run whose evaluation failed is only
evaluated next time, and a run that differs only in how it is explained (another
explainer, a new explainer plugin) evaluates the same weights.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from benchmark import provenance
from benchmark.errors import PluginOutputError, UserError
from benchmark.events import Events
from benchmark.files import finite
from benchmark.record import Record
from benchmark.registry.loading import Registries
from benchmark.run.config import RunConfig, spec_hash
from benchmark.run.data import PreparedData
from benchmark.run.result import (
    Axes,
    DataInfo,
    GroupInfo,
    Measurements,
    ModelInfo,
    NormaliserInfo,
    PhaseInfo,
    Provenance,
    RunResult,
    TrainingInfo,
    ValidationInfo,
)
from benchmark.run.store import RunStore

if TYPE_CHECKING:
    from benchmark.evaluation.evaluate import Evaluation
    from benchmark.training.session import TrainedRun

R = TypeVar("R", bound=Record)


class EvaluationFailed(UserError):
    """A run trained but could not be evaluated (a plugin's output failed its checks, say).
    Its trained weights stay in the store: running the spec again only evaluates."""

    exit_code = 1
    stage = "evaluation"

    def __init__(self, run: RunConfig, message: str, checkpoint: Path) -> None:
        super().__init__(
            f"run {run.run_id} ({run.label}): evaluation failed: {message}",
            hint=f"Its training is kept ({checkpoint}): fix the cause and run the spec again; only the "
            "evaluation is redone.",
        )
        self.run = run


class TrainingFailed(EvaluationFailed):
    """A run whose training a plugin broke (its contract, or an error inside it): that run
    alone stops, as an evaluation failure does; the other runs go on."""

    stage = "training"

    def __init__(self, run: RunConfig, message: str, checkpoint: Path) -> None:
        UserError.__init__(
            self,
            f"run {run.run_id} ({run.label}): training failed: {message}",
            hint="Fix the plugin (or the spec) and run the spec again: the finished runs are kept, and a kept "
            f"checkpoint ({checkpoint}) resumes.",
        )
        self.run = run


def resume_note(run: RunConfig, store: RunStore, data: PreparedData) -> str | None:
    """What a run will pick up from its kept weights, for the user (None: from scratch)."""
    from benchmark.training import checkpoint

    state = checkpoint.load(store.trained_path(run.training_key, data.hash))
    if state is None:
        return None
    epochs = len(state["result"]["history"])
    if state.get("finished"):  # the checkpoint written once training was over
        return f"run {run.run_id} ({run.label}): trained earlier ({epochs} epochs); evaluating only"
    return f"resuming run {run.run_id} ({run.label}) from epoch {epochs}"


def execute_locked(
    run: RunConfig,
    data: PreparedData,
    regs: Registries,
    store: RunStore,
    *,
    wait: bool,
    on_start: Callable[[], None] | None = None,
    **kwargs: Any,
) -> RunResult | None:
    """:func:`execute_run` while holding the run's lock. A run another process holds is
    waited for (``wait``) or left alone (None returned); a run found finished once the
    lock is held is not computed again (its stored result is returned). ``on_start`` is
    called when this process is about to compute the run."""
    held = store.try_lock(run.run_id)
    if held is None and not wait:
        return None
    with store.wait_lock(run.run_id) if held is None else _holding(held):
        if store.is_done(run.run_id, data.hash):
            return store.load(run.run_id)
        if on_start is not None:
            on_start()
        return execute_run(run, data, regs, store, **kwargs)


@contextlib.contextmanager
def _holding(held: Any) -> Iterator[None]:
    try:
        yield
    finally:
        held.release()


def weights_hash(model: Any) -> str:
    """Hash of every parameter and buffer, in order: equal hashes mean bit-identical weights."""
    import torch

    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def execute_run(
    run: RunConfig,
    data: PreparedData,
    regs: Registries,
    store: RunStore,
    *,
    on_epoch: Callable[..., None] | None = None,
    checkpoint_every_s: float = 30.0,
    events: Events | None = None,
) -> RunResult:
    """Train, evaluate and explain one run; save and return its result."""
    from benchmark import memory
    from benchmark.evaluation.evaluate import evaluate_run
    from benchmark.training.session import resolve_device, train_on_permuted_labels, train_run

    spec = run.spec
    started = dt.datetime.now(dt.UTC)
    host_reset = memory.reset_peaks(resolve_device(spec.training.device))
    t0 = time.perf_counter()
    table = data.patches.table
    trained_path = store.trained_path(run.training_key, data.hash)
    try:
        with store.training_lock(trained_path):  # one process trains a training key at a time
            trained = train_run(
                run,
                data.patches.images,
                table["label"].to_numpy(),
                data.split,
                regs,
                trained_path,
                on_epoch=on_epoch,
                checkpoint_every_s=checkpoint_every_s,
            )
    except (UserError, KeyboardInterrupt, OSError):  # the user's mistake, an interruption, the disk: stop
        raise
    except Exception as exc:  # a plugin broke this run's training: the other runs go on
        message = str(exc) if isinstance(exc, PluginOutputError) else f"{type(exc).__name__}: {exc}"
        store.save_error(run.run_id, "training", message)
        raise TrainingFailed(run, message, trained_path) from exc
    permuted = None
    if spec.explain.sanity.enabled and spec.explain.sanity.label_permutation:  # Adebayo et al.'s data randomisation
        permuted_path = store.trained_path(f"{run.training_key}-permuted", data.hash)
        with store.training_lock(permuted_path):
            permuted = train_on_permuted_labels(
                run,
                data.patches.images,
                table["label"].to_numpy(),
                data.split,
                regs,
                permuted_path,
                spec.explain.sanity.seed,
                checkpoint_every_s=checkpoint_every_s,
            ).backbone
    t_train = time.perf_counter() - t0
    try:
        evaluation = evaluate_run(trained, spec, table, data.patches.masks, regs, events, run.run_id, permuted)
        for name, arrays in evaluation.arrays.items():  # before the result, which marks the run done
            store.save_arrays(run.run_id, name, arrays)
    except (UserError, KeyboardInterrupt):
        raise
    except Exception as exc:  # the training is kept: the next invocation only evaluates
        message = f"{type(exc).__name__}: {exc}"
        store.save_error(run.run_id, "evaluation", message)
        raise EvaluationFailed(run, message, trained_path) from exc
    t_total = time.perf_counter() - t0

    seconds = {"train": round(t_train, 3), "total": round(t_total, 3)}
    measured = Measurements(
        started=started.isoformat(timespec="seconds"),
        seconds=seconds,
        memory=memory.peaks(trained.device, host_reset),
        cache_key=data.patches.key,
    )
    result = assemble_result(run, data, trained, evaluation, measured)
    store.save(result)
    return result


def _finite(record: R) -> R:
    """``record`` with its non-finite floats as None, as results.json stores them."""
    return type(record).model_validate(finite(record.model_dump()))


def model_info(run: RunConfig, trained: TrainedRun) -> ModelInfo:
    """What the result records of the trained model: its backbone's typed facts."""
    from benchmark.models.grouping import count_parameters, weight_layers

    backbone = trained.backbone
    return ModelInfo(
        backbone=run.backbone,
        pretrained=backbone.pretrained,
        frozen_groups=trained.frozen,
        weights_hash=weights_hash(backbone.model),
        target_layer=backbone.target_layer_name,
        builds_on=backbone.builds_on,
        kind=backbone.kind,
        groups=[
            GroupInfo(name=g.name, parameters=count_parameters(g.modules), weight_layers=weight_layers(g))
            for g in backbone.groups
        ],
        training_key=run.training_key,
    )


def assemble_result(
    run: RunConfig, data: PreparedData, trained: TrainedRun, evaluation: Evaluation, measured: Measurements
) -> RunResult:
    """The run's result from the records of its stages (data, training, evaluation)."""
    spec, groups = run.spec, trained.backbone.groups
    proba = np.asarray(evaluation.predictions.proba)
    optional = {"faithfulness": evaluation.faithfulness, "sanity": evaluation.sanity, "verdicts": evaluation.verdicts}
    return RunResult(
        run_id=run.run_id,
        label=run.label,
        spec=spec.name,
        spec_hash=spec_hash(spec),
        config=run.resolved(),
        axes=Axes(normaliser=spec.matrix.normaliser is not None, patches=spec.matrix.patches is not None),
        data=DataInfo(
            hash=data.hash,
            counts=data.counts(),
            patches=run.patches.model_dump(),
            variant=run.variant,
            warnings=data.warnings,
            validation=ValidationInfo(**spec.dataset.validation.model_dump(), method=data.split_method),
        ),
        model=model_info(run, trained),
        phases=[
            PhaseInfo(name=p.name, learning_rates={groups[i].name: lr for i, lr in sorted(p.learning_rates.items())})
            for p in trained.phases
        ],
        normaliser=NormaliserInfo(
            name=run.normaliser,
            uses_labels=bool(trained.normaliser.uses_labels),
            state=trained.normaliser.state_dict(),
        ),
        training=TrainingInfo.model_validate(finite(trained.fit.to_dict())),
        test=_finite(evaluation.test),
        localisation=_finite(evaluation.localisation),
        predictions=_finite(evaluation.predictions),
        **{part: None if record is None else _finite(record) for part, record in optional.items()},
        fingerprint=hashlib.sha256(proba.tobytes()).hexdigest()[:16],
        provenance=Provenance(
            git_revision=provenance.git_revision(),
            versions=provenance.versions(),
            device=provenance.device_description(trained.device),
            seed=run.seed,
            plugins=run.plugins,
            **trained.determinism,
        ),
        measurements=measured,
    )
