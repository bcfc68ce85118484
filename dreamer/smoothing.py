"""Shaping the image gradient before the step: Gaussian smoothing or Laplacian-pyramid normalisation.

Both act on the whole gradient after the tiles are put together, so they never see tile borders.
``none`` keeps the original's raw gradient (crisp, high-frequency detail); ``gaussian`` blurs it
with a cascade of sigmas that grows over an octave's steps (softer, painterly strokes);
``laplacian`` gives every frequency band equal weight (bigger, smoother shapes, less fine noise).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

KERNEL_SIZE = 9  # Gaussian kernel width in pixels
SIGMA_START, SIGMA_END = 0.5, 2.5  # the cascade's middle sigma ramps between these over an octave's steps
LAPLACIAN_LEVELS = 4


def gaussian_blur(x: torch.Tensor, sigma: float, size: int = KERNEL_SIZE) -> torch.Tensor:
    """Separable Gaussian blur of (B, C, H, W) with reflected borders (no dark edge)."""
    r = torch.arange(size, dtype=x.dtype, device=x.device) - (size - 1) / 2
    k = torch.exp(-(r**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    pad = size // 2
    # Reflection needs a pad smaller than the side; tiny images fall back to replication.
    mode = "reflect" if min(x.shape[-2:]) > pad else "replicate"
    x = F.conv2d(F.pad(x, (pad, pad, 0, 0), mode=mode), k.view(1, 1, 1, size).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, pad, pad), mode=mode), k.view(1, 1, size, 1).repeat(c, 1, 1, 1), groups=c)


def cascade_smooth(grad: torch.Tensor, progress: float) -> torch.Tensor:
    """Mean of three blurs (sigma x 0.5, 1, 2), sigma ramping from SIGMA_START to SIGMA_END as progress goes 0 -> 1."""
    sigma = SIGMA_START + (SIGMA_END - SIGMA_START) * min(max(progress, 0.0), 1.0)
    return sum(gaussian_blur(grad, sigma * f) for f in (0.5, 1.0, 2.0)) / 3.0


def laplacian_normalize(grad: torch.Tensor, levels: int = LAPLACIAN_LEVELS) -> torch.Tensor:
    """Split into a Laplacian pyramid, scale each band to unit RMS, and merge (Lucid / TF tutorial)."""
    bands = []
    low = grad
    for _ in range(levels - 1):
        h, w = low.shape[-2:]
        if min(h, w) < 4:
            break
        smaller = F.interpolate(low, size=(math.ceil(h / 2), math.ceil(w / 2)), mode="bilinear", antialias=True)
        bands.append(low - F.interpolate(smaller, size=(h, w), mode="bilinear"))
        low = smaller
    bands.append(low)
    out = None
    for band in reversed([b / b.pow(2).mean().sqrt().clamp_min(1e-30) for b in bands]):
        out = band if out is None else F.interpolate(out, size=band.shape[-2:], mode="bilinear") + band
    return out


def smooth_gradient(grad: torch.Tensor, how: str = "none", progress: float = 0.0) -> torch.Tensor:
    """Apply the named gradient shaping; ``progress`` is the step's place in its octave, 0 to 1."""
    if how == "gaussian":
        return cascade_smooth(grad, progress)
    if how == "laplacian":
        return laplacian_normalize(grad)
    return grad
