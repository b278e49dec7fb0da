"""How alike two maps of the same size are: Spearman rank correlation and SSIM, per pair.
Used by the sanity tests (a map against the trained model's) and by repeatability and
reproducibility (a map against another run's)."""

from __future__ import annotations

import numpy as np


def spearman_per_patch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each pair of maps (N, H, W); 0 where one map is
    constant (a map that became flat shares no ranking with the original)."""
    from scipy.stats import rankdata

    ra = rankdata(a.reshape(len(a), -1), axis=1)
    rb = rankdata(b.reshape(len(b), -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    return np.where(denom > 0, (ra * rb).sum(axis=1) / np.where(denom > 0, denom, 1.0), 0.0)


def ssim_per_patch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Structural similarity of each pair of maps in [0, 1] (N, H, W), computed as
    scikit-image's ``structural_similarity`` computes it with its defaults (7 x 7 uniform
    window, reflected borders, sample covariances, data range 1, the mean over the window
    centres a window's half away from the border), for the whole stack at once
    (``tests/test_sanity.py`` checks the two agree). Two equal flat maps score 1."""
    from scipy.ndimage import uniform_filter

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if len(a) == 0:
        return np.zeros(0)
    side = min(a.shape[1:])
    win = 7 if side >= 7 else max(3, side - 1 + side % 2)  # the largest odd window that fits (maps of 3+ pixels)

    def mean(x: np.ndarray) -> np.ndarray:
        return uniform_filter(x, size=(1, win, win), mode="reflect")

    cov_norm = win * win / (win * win - 1)
    ux, uy = mean(a), mean(b)
    vx = cov_norm * (mean(a * a) - ux * ux)
    vy = cov_norm * (mean(b * b) - uy * uy)
    vxy = cov_norm * (mean(a * b) - ux * uy)
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    return s[:, pad : s.shape[1] - pad, pad : s.shape[2] - pad].mean(axis=(1, 2))
