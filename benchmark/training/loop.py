"""The training loop: run a strategy's phases in order, early-stop each on validation
loss, carry the weights of the lowest validation loss so far into the next phase
(``early_stopping.py`` says how the two rules differ). The weights a phase starts from
compete with its epochs: a phase that never beats them passes them on unchanged, so
the final model is the run's lowest validation loss. A phase with ``carry="last"`` (a
fixed schedule) and a phase action hand on their final weights instead, and the phases
after them compete with those only.

Adam and cross-entropy as in the study; one optimiser parameter group per trainable
layer group, at that group's learning rate. On CUDA the forward and backward run under
bf16 autocast with channels_last tensors.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmark.plugin_types import LayerGroup, Normaliser, Phase, PhaseContext
from benchmark.spec.schema import HParams, Training
from benchmark.training import checkpoint
from benchmark.training.augment import augment
from benchmark.training.device_data import DeviceSplit, to_input
from benchmark.training.early_stopping import EarlyStopping
from benchmark.training.epoch import Epoch
from benchmark.training.freezing import set_trainable


@dataclass
class FitResult:
    history: list[Epoch] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf
    phase_best_epochs: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "history": [h.model_dump() for h in self.history],
            "best_epoch": self.best_epoch,
            "best_val_loss": self.best_val_loss,
            "phase_best_epochs": self.phase_best_epochs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitResult:
        return cls(
            [Epoch(**h) for h in data["history"]],
            data["best_epoch"],
            data["best_val_loss"],
            list(data["phase_best_epochs"]),
        )


EpochCallback = Callable[[Epoch, int], None]


def mixed_precision(cuda: bool) -> Any:
    """bf16 autocast on CUDA, nothing on the CPU: the harness's one mixed-precision rule."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)


@dataclass
class Trainer:
    model: nn.Module
    groups: list[LayerGroup]
    phases: list[Phase]
    normaliser: Normaliser
    train: DeviceSplit
    val: DeviceSplit
    hparams: HParams
    config: Training
    generator: torch.Generator
    checkpoint_path: Path | None = None
    checkpoint_every_s: float = 30.0
    on_epoch: EpochCallback | None = None

    def __post_init__(self) -> None:
        self.device = self.train.images.device
        self.cuda = self.device.type == "cuda"
        self.loss_fn = nn.CrossEntropyLoss()
        if self.cuda:
            self.model.to(memory_format=torch.channels_last)

    # -- one epoch ---------------------------------------------------------------------
    def _autocast(self) -> Any:
        return mixed_precision(self.cuda)

    def _train_epoch(
        self,
        optimizer: torch.optim.Optimizer,
        trainable: set[int],
        extra_loss: Callable[..., torch.Tensor] | None = None,
    ) -> tuple[float, float]:
        """One pass over the training split; with ``hparams.accumulate`` > 1, the gradients
        of that many batches are summed (each loss scaled down) before a step."""
        self.model.train()
        set_trainable(self.groups, trainable)
        total_loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        accumulate = self.hparams.accumulate
        batches = list(self.train.batches(self.hparams.batch_size, self.generator))
        optimizer.zero_grad(set_to_none=True)
        for step, idx in enumerate(batches, 1):
            y = self.train.labels[idx]
            x = to_input(self.train.images[idx], y, self.normaliser)
            x = augment(x, self.config.augment, self.generator)
            if self.cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            with self._autocast():
                logits = self.model(x)
                loss = self.loss_fn(logits.float(), y)
                if extra_loss is not None:
                    loss = loss + extra_loss(self.model, logits.float(), y)
            (loss / accumulate if accumulate > 1 else loss).backward()
            if step % accumulate == 0 or step == len(batches):
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            total_loss += loss.detach() * len(idx)
            correct += (logits.detach().argmax(1) == y).sum()
        n = len(self.train)
        return total_loss.item() / n, correct.item() / n

    def _context(self) -> PhaseContext:
        """What a phase's action sees: the training split as network input, in order."""

        def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            for idx in self.train.batches(self.config.eval_batch_size):
                y = self.train.labels[idx]
                yield to_input(self.train.images[idx], y, self.normaliser), y

        return PhaseContext(self.model, self.groups, batches, self.device)

    @torch.no_grad()
    def evaluate(self, split: DeviceSplit) -> tuple[float, float]:
        self.model.eval()
        total_loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        for idx in split.batches(self.config.eval_batch_size):
            y = split.labels[idx]
            x = to_input(split.images[idx], y, self.normaliser, self.cuda)
            with self._autocast():
                logits = self.model(x).float()
            total_loss += nn.functional.cross_entropy(logits, y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
        n = max(1, len(split))
        return total_loss.item() / n, correct.item() / n

    # -- phases ------------------------------------------------------------------------
    def _optimizer(self, phase: Phase) -> torch.optim.Optimizer:
        params = [
            {"params": self.groups[i].parameters(), "lr": lr, "name": self.groups[i].name}
            for i, lr in sorted(phase.learning_rates.items())
        ]
        return torch.optim.Adam(params, weight_decay=self.hparams.weight_decay)

    def fit(self) -> FitResult:
        result = FitResult()
        start_phase, resume = 0, None
        if self.checkpoint_path is not None:
            resume = checkpoint.load(self.checkpoint_path)
        if resume is not None:
            start_phase = resume["phase_index"]
            result = FitResult.from_dict(resume["result"])
            self.model.load_state_dict(resume["model"])
        last_save = time.monotonic()
        for p_index in range(start_phase, len(self.phases)):
            phase = self.phases[p_index]
            if phase.action is not None:
                self._act(p_index, phase, result)
                continue
            trainable = set(phase.learning_rates)
            set_trainable(self.groups, trainable)
            optimizer = self._optimizer(phase)
            # the weights carried in compete too: a phase that never beats them hands them on unchanged
            stopper = EarlyStopping(
                self.config.early_stopping.patience,
                self.config.early_stopping.min_delta,
                best=result.best_val_loss,
                best_epoch=result.best_epoch,
            )
            best_state = copy.deepcopy(self.model.state_dict())
            first_epoch = 0
            max_epochs = min(self.config.max_epochs, phase.epochs or self.config.max_epochs)
            keep_last = phase.carry == "last"
            if resume is not None and resume["phase_index"] == p_index and "optimizer" not in resume:
                checkpoint.restore_rng(self.generator, resume["rng"])  # saved between phases, after an action
                resume = None
            if resume is not None and resume["phase_index"] == p_index:
                optimizer.load_state_dict(resume["optimizer"])
                stopper.load_state_dict(resume["stopper"])
                best_state = resume["best_state"]
                first_epoch = resume["phase_epoch"]
                checkpoint.restore_rng(self.generator, resume["rng"])
                resume = None
                if (stopper.should_stop and not keep_last) or first_epoch >= max_epochs:
                    first_epoch = max_epochs
            for phase_epoch in range(first_epoch, max_epochs):
                train_loss, train_acc = self._train_epoch(optimizer, trainable, phase.loss)
                val_loss, val_acc = self.evaluate(self.val)
                epoch = len(result.history) + 1
                improved = stopper.step(val_loss, epoch)
                if keep_last:  # a fixed schedule: only its final weights are carried
                    improved = phase_epoch + 1 == max_epochs
                elif improved:
                    best_state = copy.deepcopy(self.model.state_dict())
                record = Epoch(
                    epoch=epoch,
                    phase=phase.name,
                    phase_index=p_index,
                    phase_epoch=phase_epoch + 1,
                    train_loss=train_loss,
                    train_accuracy=train_acc,
                    val_loss=val_loss,
                    val_accuracy=val_acc,
                    learning_rates={g["name"]: g["lr"] for g in optimizer.param_groups},
                    improved=improved,
                    waited=stopper.waited,
                )
                result.history.append(record)
                if self.on_epoch:
                    self.on_epoch(record, max_epochs)
                done = stopper.should_stop and not keep_last
                due = done or time.monotonic() - last_save >= self.checkpoint_every_s
                if self.checkpoint_path is not None and due:
                    self._save(p_index, phase_epoch + 1, optimizer, stopper, best_state, result)
                    last_save = time.monotonic()
                if done:
                    break
            if keep_last:  # the final weights go on, and the phases after compete with them only
                last = [h for h in result.history if h.phase_index == p_index][-1]
                result.phase_best_epochs.append(last.epoch)
                result.best_epoch = last.epoch
                result.best_val_loss = math.nan if last.val_loss is None else last.val_loss
                continue
            # carry the best checkpoint of this phase into the next
            self.model.load_state_dict(best_state)
            result.phase_best_epochs.append(stopper.best_epoch)
            result.best_epoch, result.best_val_loss = stopper.best_epoch, stopper.best
        if self.checkpoint_path is not None and start_phase < len(self.phases):
            # training is over: what evaluation needs is kept until the run's result is stored
            checkpoint.save(
                self.checkpoint_path,
                {
                    "phase_index": len(self.phases),
                    "phase_epoch": 0,
                    "finished": True,
                    "model": self.model.state_dict(),
                    "result": result.to_dict(),
                },
            )
        return result

    def _act(self, p_index: int, phase: Phase, result: FitResult) -> None:
        """Run a phase's action, record the validation loss it leaves as an epoch and carry
        its weights on (the action changes the model on purpose: what came before is no
        longer a candidate)."""
        assert phase.action is not None
        phase.action(self._context())
        val_loss, val_acc = self.evaluate(self.val)
        epoch = len(result.history) + 1
        record = Epoch(
            epoch=epoch,
            phase=phase.name,
            phase_index=p_index,
            phase_epoch=1,
            train_loss=math.nan,
            train_accuracy=math.nan,
            val_loss=val_loss,
            val_accuracy=val_acc,
            learning_rates={},
            improved=True,
            waited=0,
        )
        result.history.append(record)
        result.phase_best_epochs.append(epoch)
        result.best_epoch, result.best_val_loss = epoch, val_loss
        if self.on_epoch:
            self.on_epoch(record, self.config.max_epochs)
        if self.checkpoint_path is not None:  # resume at the next phase, not before the action
            checkpoint.save(
                self.checkpoint_path,
                {
                    "phase_index": p_index + 1,
                    "phase_epoch": 0,
                    "model": self.model.state_dict(),
                    "result": result.to_dict(),
                    "rng": checkpoint.rng_state(self.generator),
                },
            )

    def _save(
        self,
        p_index: int,
        phase_epoch: int,
        optimizer: torch.optim.Optimizer,
        stopper: EarlyStopping,
        best_state: dict[str, Any],
        result: FitResult,
    ) -> None:
        assert self.checkpoint_path is not None
        checkpoint.save(
            self.checkpoint_path,
            {
                "phase_index": p_index,
                "phase_epoch": phase_epoch,
                "model": self.model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "stopper": stopper.state_dict(),
                "best_state": best_state,
                "result": result.to_dict(),
                "rng": checkpoint.rng_state(self.generator),
            },
        )
