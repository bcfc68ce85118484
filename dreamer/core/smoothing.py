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


def _blur_axis(plane: torch.Tensor, k: list[float], dim: int) -> torch.Tensor:
    """Convolve a (1, 1, H, W) plane with the 1-D kernel ``k`` along ``dim`` (2 = rows, 3 = columns)."""
    pad = len(k) // 2
    # Reflection needs a pad smaller than the side; tiny images fall back to replication.
    mode = "reflect" if plane.shape[dim] > pad else "replicate"
    padded = F.pad(plane, (pad, pad, 0, 0) if dim == 3 else (0, 0, pad, pad), mode=mode)
    n = plane.shape[dim]
    out = padded.narrow(dim, 0, n) * k[0]
    for i in range(1, len(k)):
        out.add_(padded.narrow(dim, i, n), alpha=k[i])
    return out


def gaussian_blur(x: torch.Tensor, sigma: float, size: int = KERNEL_SIZE) -> torch.Tensor:
    """Separable Gaussian blur of (B, C, H, W) with reflected borders (no dark edge).

    Shifted sums over one plane at a time, so a 12-megapixel gradient needs only a few extra
    planes of memory (a grouped conv2d would unfold the image ``size`` times over on the CPU).
    """
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    k = torch.exp(-(r**2) / (2 * sigma**2))
    k = (k / k.sum()).tolist()
    h, w = x.shape[-2:]
    planes = [_blur_axis(_blur_axis(p.view(1, 1, h, w), k, 3), k, 2) for p in x.reshape(-1, h, w)]
    return torch.cat(planes).view(x.shape)


def cascade_smooth(grad: torch.Tensor, progress: float) -> torch.Tensor:
    """Mean of three blurs (sigma x 0.5, 1, 2), sigma ramping from SIGMA_START to SIGMA_END as progress goes 0 -> 1."""
    sigma = SIGMA_START + (SIGMA_END - SIGMA_START) * min(max(progress, 0.0), 1.0)
    out = gaussian_blur(grad, sigma * 0.5)
    out.add_(gaussian_blur(grad, sigma)).add_(gaussian_blur(grad, sigma * 2.0))
    return out.div_(3.0)


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
