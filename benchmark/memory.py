"""Peak memory of one run, host and device.

The host figure is the process's peak resident set (VmHWM). On Linux the peak is reset
at the start of each run (``/proc/self/clear_refs``), so with several runs in one process
each result carries its own peak; where that is not possible the figure is the process's
peak so far, and the result says so.
"""

from __future__ import annotations

import resource
from typing import Any


def reset_peaks(device: Any = None) -> bool:
    """Start counting peaks afresh; True when the host peak could be reset."""
    if device is not None and getattr(device, "type", "") == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats(device)
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _vm_hwm_mib() -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peaks(device: Any, host_reset: bool) -> dict[str, Any]:
    """Peak host RSS (MiB) and, on CUDA, peak allocated and reserved device memory (MiB)."""
    hwm = _vm_hwm_mib()
    out: dict[str, Any] = {
        "host_peak_rss_mib": round(
            hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
        "host_peak_scope": "run" if host_reset and hwm is not None else "process",
    }
    if getattr(device, "type", "") == "cuda":
        import torch

        out["device_peak_allocated_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        out["device_peak_reserved_mib"] = round(torch.cuda.max_memory_reserved(device) / 2**20, 1)
    return out
