"""The options a spec may give the prototype network and its strategy (no heavy imports:
``validate`` checks them without torch)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProtoPNetOptions(BaseModel):
    """``{name: protopnet/vgg16, options: {per_class: 10, dim: 128}}`` (Chen et al.'s values)."""

    model_config = ConfigDict(extra="forbid")

    per_class: int = Field(10, ge=1, le=100, description="prototypes per class")
    dim: int = Field(128, ge=1, le=4096, description="channels of the add-on output and of each prototype")


class ProtoPNetStrategyOptions(BaseModel):
    """``{name: protopnet, options: {clst: 0.8, warm_epochs: 5}}``."""

    model_config = ConfigDict(extra="forbid")

    clst: float = Field(0.8, description="cluster-cost coefficient")
    sep: float = Field(-0.08, description="separation-cost coefficient (negative: distance rewarded)")
    l1: float = Field(1e-4, ge=0.0, description="L1 coefficient on the last layer's wrong-class weights")
    warm_epochs: int = Field(
        5, ge=0, le=1000, description="epochs of the warm-up (0: none, joint training starts at once)"
    )
    joint_epochs: int = Field(
        10, ge=1, le=100_000, description="epochs of joint training before the push (Chen et al. push first after 10)"
    )
    last_layer_epochs: int = Field(20, ge=1, le=1000, description="epochs of last-layer training")
    lr_prototypes: float = Field(3e-3, gt=0.0, description="add-on layers and prototypes")
    lr_features: float | None = Field(
        None,
        gt=0.0,
        description="joint rate of the last feature group (earlier "
        "groups decay from it by lr_decay); None: the "
        "hparams' lr_last_block, as the CNN trains",
    )
    train_all_features: bool = Field(
        False,
        description="joint training trains every feature group, as Chen et al. "
        "did; by default the core's frozen leading groups stay "
        "frozen, as in the CNN it is set beside",
    )
    lr_last_layer: float = Field(1e-4, gt=0.0, description="the last layer, in its own phase")
    early_stopping: bool = Field(
        False,
        description="early-stop warm-up and joint training on the validation loss "
        "and carry their best epoch, as the study's strategies do; "
        "by default the schedule runs in full, as its authors trained it",
    )
