"""TensorBoard: one event-file folder per run, next to the run in the store
(``runs/<spec>/<run id>/tensorboard``), written with PyTorch's ``SummaryWriter``:
per-epoch scalars (step = epoch), the final metrics (step = the last epoch), the
parameters as text and as an hparams summary, the report's figures as images.

Point TensorBoard at the spec's folder to see its runs side by side:
``tensorboard --logdir <home>/runs/<spec>``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from benchmark.api import LoggedRun
from plugins.loggers.extras import require

FOLDER = "tensorboard"


class TensorBoardOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    images: bool = True  # the report's figures as images (a few hundred KiB per run)


class TensorBoardLogger:
    Options = TensorBoardOptions

    def __init__(self, home: Path, spec: str, images: bool = True) -> None:
        require("tensorboard", "tensorboard", "tensorboard")
        self.images = images

    def log(self, run: LoggedRun) -> None:
        from PIL import Image
        from torch.utils.tensorboard import SummaryWriter

        folder = run.folder / FOLDER
        shutil.rmtree(folder, ignore_errors=True)  # sent again = the run's result changed: the old events go
        with SummaryWriter(log_dir=str(folder)) as writer:
            last = 0
            for epoch in run.epochs:
                step = int(epoch["epoch"])
                last = max(last, step)
                for key, value in epoch.items():
                    if key != "epoch":
                        writer.add_scalar(key, value, step)
            for key, value in run.metrics.items():
                writer.add_scalar(key, value, last)
            writer.add_text("params", "\n".join(f"    {k}: {v}" for k, v in sorted(run.params.items())), last)
            hparams = {
                k: v for k, v in run.params.items() if k.startswith(("hparams.", "backbone", "strategy", "seed"))
            }
            writer.add_hparams(
                hparams,
                {f"hparam/{k}": v for k, v in run.metrics.items() if k.startswith("test/")},
                run_name=".",
                global_step=last,
            )
            if self.images:
                for path in run.figures:
                    with Image.open(path) as image:
                        pixels = np.asarray(image.convert("RGB"))
                    writer.add_image(f"figures/{path.stem}", pixels, last, dataformats="HWC")

    def close(self) -> None:
        pass
