"""Removing pixels without leaving a shape behind: ROAD's noisy linear imputation
(Rong et al. 2022), batched on the device.

Each removed pixel becomes the weighted mean of its eight neighbours (1/6 for the four
direct ones, 1/12 for the diagonals; fewer at the border), removed neighbours included,
so the removed region is filled by the smooth (harmonic) interpolation of the pixels
around it; then noise of standard deviation ``noise`` is added to the filled pixels.
pytorch-grad-cam (``metrics/road.py``, from the ROAD authors' code) solves that linear
system image by image with SciPy's sparse solver on the CPU. Here the same system, made
symmetric (each row scaled by its neighbours' weight sum), is solved for a whole batch
at once by multigrid-preconditioned conjugate gradients, with shifted sums for the
stencil, on whatever device the images are on; ``tests/test_faithfulness.py`` checks the
two agree.

Which pixels go is decided by :func:`removal_masks`: exactly ``round(p% * pixels)`` of
them, the most (or least) relevant by the map, ties broken in a seeded random order, so
a map with many equal values (the zeros Grad-CAM's ReLU leaves, a constant map) removes
the share it is asked to and no more. (pytorch-grad-cam removes every pixel tied at the
percentile: for a constant map, all of them.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    import numpy as np

#: the neighbours' weights of ROAD's linear imputation (direct 1/6, diagonal 1/12)
WEIGHTS = ((1 / 12, 1 / 6, 1 / 12), (1 / 6, 0.0, 1 / 6), (1 / 12, 1 / 6, 1 / 12))
#: ROAD's noise: standard deviation added to every imputed value
NOISE = 0.01


def _neighbour_sum(x: torch.Tensor) -> torch.Tensor:
    """Weighted sum of each pixel's neighbours inside the image (``WEIGHTS``), channel by
    channel: a separable [1, 2, 1] blur minus four times the centre, over 12."""
    p = F.pad(x, (1, 1, 1, 1))
    rows = p[..., :-2] + 2.0 * p[..., 1:-1] + p[..., 2:]
    blur = rows[..., :-2, :] + 2.0 * rows[..., 1:-1, :] + rows[..., 2:, :]
    return (blur - 4.0 * x) / 12.0


def _diagonal(h: int, w: int, device: torch.device) -> torch.Tensor:
    """Each pixel's neighbour-weight sum (1 inside the image, less at its border)."""
    return _neighbour_sum(torch.ones((1, 1, h, w), device=device))


def _apply(v: torch.Tensor, u: torch.Tensor, diagonal: torch.Tensor) -> torch.Tensor:
    """ROAD's system, made symmetric, on the unknown pixels (``u`` = 1) of ``v``."""
    return (diagonal * v - _neighbour_sum(v)) * u


def _v_cycle(r: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """An approximate solution of the system for the residual ``r``: Jacobi sweeps (a
    good smoother for this stencil: it damps the rough part of the error by 3 each), the
    same problem on blocks of 2 x 2 pixels for the smooth part, Jacobi sweeps again."""
    h, w = r.shape[-2:]
    diagonal = _diagonal(h, w, r.device)
    if min(h, w) < 8:
        e = torch.zeros_like(r)
        for _ in range(16):
            e = e + (r - _apply(e, u, diagonal)) / diagonal * u
        return e
    e = r / diagonal * u
    e = e + (r - _apply(e, u, diagonal)) / diagonal * u
    residual = (r - _apply(e, u, diagonal)) * u
    coarse_u = (F.avg_pool2d(u, 2, ceil_mode=True) > 0).float()
    coarse = _v_cycle(F.avg_pool2d(residual, 2, ceil_mode=True) * 4.0 * coarse_u, coarse_u)
    e = e + F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False) * u
    for _ in range(2):
        e = e + (r - _apply(e, u, diagonal)) / diagonal * u
    return e


def _solve(known: torch.Tensor, u: torch.Tensor, tolerance: float, max_iterations: int | None) -> torch.Tensor:
    """The unknown pixels (``u`` = 1) of ROAD's system whose known pixels hold ``known``
    (zeros elsewhere): conjugate gradients preconditioned by a multigrid V-cycle (in
    the flexible form, which tolerates the cycle's slight asymmetry), a dozen iterations
    where plain conjugate gradients need hundreds."""
    h, w = known.shape[-2:]
    diagonal = _diagonal(h, w, known.device)
    b = _neighbour_sum(known) * u
    v = torch.zeros_like(b)
    r = b.clone()
    z = _v_cycle(r, u)
    p = z.clone()
    rz = (r * z).sum(dim=(2, 3), keepdim=True)
    limit = (tolerance**2) * (b * b).sum(dim=(2, 3), keepdim=True).clamp_min(1e-30)
    for _ in range(max_iterations or 200):
        if bool(((r * r).sum(dim=(2, 3), keepdim=True) <= limit).all()):
            break
        ap = _apply(p, u, diagonal)
        alpha = rz / (p * ap).sum(dim=(2, 3), keepdim=True).clamp_min(1e-30)
        v = v + alpha * p
        r_next = r - alpha * ap
        z = _v_cycle(r_next, u)
        beta = (z * (r_next - r)).sum(dim=(2, 3), keepdim=True) / rz.clamp_min(1e-30)
        rz = (r_next * z).sum(dim=(2, 3), keepdim=True)
        r = r_next
        p = z + beta * p
    return v


def _affine_in_first_channel(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(a, b) of shape (N, C, 1, 1) with ``x[:, c] == a[:, c] * x[:, 0] + b[:, c]`` when every
    channel of every image is such an affine image of the first (a grey patch repeated to
    RGB and normalised per channel), else None."""
    first = x[:, :1]
    mean0 = first.mean(dim=(2, 3), keepdim=True)
    centred0 = first - mean0
    var0 = (centred0 * centred0).mean(dim=(2, 3), keepdim=True)
    mean = x.mean(dim=(2, 3), keepdim=True)
    cov = (centred0 * (x - mean)).mean(dim=(2, 3), keepdim=True)
    a = torch.where(var0 > 0, cov / var0.clamp_min(1e-30), torch.zeros_like(cov))
    b = mean - a * mean0
    scale = x.abs().amax(dim=(2, 3), keepdim=True) + 1.0
    if bool(((x - (a * first + b)).abs() <= 1e-5 * scale).all()):
        return a, b
    return None


def linear_imputation(
    images: torch.Tensor, removed: torch.Tensor, *, tolerance: float = 3e-4, max_iterations: int | None = None
) -> torch.Tensor:
    """``images`` (N, C, H, W) with the pixels where ``removed`` (N, H, W) is true replaced
    by the solution of ROAD's linear system (no noise): multigrid-preconditioned
    conjugate gradients until every system's relative residual is below ``tolerance``
    (at most ``max_iterations``, default 200). An image with every pixel removed is
    filled with zeros.

    The imputed values are an affine function of the known ones with weights summing to
    1, so channels that are affine images of one another (a grey patch repeated to RGB and
    normalised per channel) are imputed once, through the first channel."""
    x = images.float()
    n, c, h, w = x.shape
    holes = removed.to(device=x.device, dtype=torch.bool)[:, None]
    if not bool(holes.any()):
        return x.clone()
    affine = _affine_in_first_channel(x) if c > 1 else None
    solved = x[:, :1] if affine is not None else x
    u = holes.expand_as(solved).float()
    count = (1.0 - u).sum(dim=(2, 3), keepdim=True)
    # solved about the known pixels' mean (exact: the weights sum to 1), so that the tolerance,
    # relative to the system's right-hand side, is about the image's structure, not its offset
    offset = (solved * (1.0 - u)).sum(dim=(2, 3), keepdim=True) / count.clamp_min(1.0)
    known = (solved - offset) * (1.0 - u)
    v = _solve(known, u, tolerance, max_iterations)
    nothing_known = count == 0
    v = torch.where(nothing_known, torch.zeros_like(v), v)  # nothing to interpolate from
    filled = known + (v + torch.where(nothing_known, torch.zeros_like(offset), offset)) * u + offset * (1.0 - u)
    if affine is not None:
        a, b = affine
        filled = torch.where(nothing_known, torch.zeros_like(x), a * filled + b)
    return torch.where(holes, filled, x)


def noisy_linear_imputation(
    images: torch.Tensor, removed: torch.Tensor, noise: float = NOISE, generator: torch.Generator | None = None
) -> torch.Tensor:
    """ROAD's imputation: :func:`linear_imputation`, then Gaussian noise of standard
    deviation ``noise`` on the imputed pixels (drawn on the CPU from ``generator``, so a
    seed gives the same noise on every device)."""
    filled = linear_imputation(images, removed)
    if noise <= 0:
        return filled
    draw = torch.randn(filled.shape, generator=generator, dtype=torch.float32).to(filled.device)
    return filled + noise * draw * removed.to(filled.device)[:, None].float()


def removal_masks(
    maps: torch.Tensor, percent: float, most_relevant: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(N, H, W) bool: the ``percent`` % most (or least) relevant pixels of each map,
    exactly ``round(percent / 100 * H * W)`` of them; ties in a seeded random order."""
    return removal_curve_masks(maps, [percent], most_relevant, generator)[0]


def removal_curve_masks(
    maps: torch.Tensor, percents: Sequence[float], most_relevant: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(len(percents), N, H, W): nested removal masks at each percentage (one tie order
    for all of them)."""
    n, h, w = maps.shape
    flat = maps.reshape(n, -1).float()
    jitter = torch.rand(flat.shape, generator=generator).to(flat.device)
    shuffled = torch.argsort(jitter, dim=1)
    values = torch.gather(flat, 1, shuffled)
    order = torch.gather(shuffled, 1, torch.argsort(values, dim=1, descending=most_relevant, stable=True))
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(h * w, device=flat.device).expand(n, -1).contiguous())
    ks = torch.tensor([int(round(p / 100.0 * h * w)) for p in percents], device=flat.device)
    return (rank[None] < ks[:, None, None]).reshape(len(percents), n, h, w)


def smooth_random_maps(coarse: np.ndarray | torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Random values on a coarse grid (N, 1, c, c), bilinearly upsampled to ``size`` and
    min-max scaled per map: blobs placed without looking at anything (the ``random``
    explainer's maps, and the random removals of the per-lesion faithful verdict)."""
    coarse = torch.as_tensor(coarse, dtype=torch.float32)
    maps = F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)[:, 0]
    lo = maps.amin(dim=(1, 2), keepdim=True)
    hi = maps.amax(dim=(1, 2), keepdim=True)
    return (maps - lo) / (hi - lo + 1e-7)
