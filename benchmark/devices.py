"""The device a run trains on: said at the start of ``cbis-bench run``, checked before work.

A spec that asks for CUDA where none is visible (a container started without
``--gpus all``, a CPU-only PyTorch, a missing driver) used to fail inside the first run,
after the patches were prepared; or, with ``auto``, to train on the CPU without a word.
The line printed first says which device it is, and a CUDA request that cannot be met
stops here with exit code 2. Training itself still resolves the device
(``benchmark.training.session.resolve_device``); this module only looks ahead.
"""

from __future__ import annotations

import re

from benchmark.errors import UserError
from benchmark.writable import in_docker


def _no_cuda_hint() -> str:
    import torch

    if torch.version.cuda is None:
        return (
            "This PyTorch is a CPU-only build; install a CUDA build (README: Docker, TORCH_CUDA), "
            "or train on the CPU with --device cpu."
        )
    if in_docker():
        return (
            "Start the container with the GPUs: docker run --gpus all ... (the NVIDIA Container Toolkit must be "
            f"installed on the host, and the driver must support CUDA {torch.version.cuda}); "
            "or train on the CPU with --device cpu."
        )
    return (
        f"Check the NVIDIA driver (nvidia-smi; this PyTorch needs one that supports CUDA {torch.version.cuda}) "
        "and CUDA_VISIBLE_DEVICES, or train on the CPU with --device cpu."
    )


def resolve(name: str) -> str:
    """The device ``name`` (cpu, cuda, cuda:N, mps, auto) trains on here; raises when it cannot."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(
                f"training.device is '{name}' (spec or --device), but no CUDA device is visible to this process",
                hint=_no_cuda_hint(),
            )
        match = re.fullmatch(r"cuda:(\d+)", name)
        if match and int(match.group(1)) >= torch.cuda.device_count():
            raise UserError(
                f"training.device is '{name}', but only {torch.cuda.device_count()} CUDA device(s) are "
                "visible (numbered from 0)",
                hint="Choose one of them, or check CUDA_VISIBLE_DEVICES.",
            )
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserError("training.device is 'mps', but no Apple GPU (MPS) is available", hint="Use --device cpu.")
    return name


def describe(device: str) -> str:
    """``cuda (NVIDIA H200)``, ``cpu (2 threads)``: what a resolved device is."""
    import torch

    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} threads)"


def device_line(name: str, *, remote: bool = False) -> str:
    """The ``device: ...`` line for a run; raises :class:`UserError` when the device is not there.

    ``remote``: the runs execute on a Ray cluster's nodes, whose devices this process cannot
    see, so the line says what each task asks for instead of checking here.
    """
    if remote:
        return f"device: {name} on each Ray task's node (training.device; GPUs per run: resources.gpus)"
    return f"device: {describe(resolve(name))}"
