"""After the dream: keep the photo's colours, blend by strength, and dream only where a mask is light.

All of it works on (1, 3, H, W) tensors in [0, 1] at the output size, so pixels the mask leaves
out are the input's own pixels, at full resolution.
"""

from __future__ import annotations

import torch

# BT.601 full-range RGB -> YCbCr (the JPEG convention), rows Y, Cb, Cr; chroma is centred on 0.5.
_TO_YCBCR = torch.tensor(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], dtype=torch.float32
)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> YCbCr with Cb, Cr centred on 0.5."""
    out = torch.einsum("ij,bjhw->bihw", _TO_YCBCR.to(rgb), rgb)
    return out + torch.tensor([0.0, 0.5, 0.5], device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    """Inverse of ``rgb_to_ycbcr`` (not clamped)."""
    centred = ycc - torch.tensor([0.0, 0.5, 0.5], device=ycc.device, dtype=ycc.dtype).view(1, 3, 1, 1)
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_TO_YCBCR).to(ycc), centred)


def with_original_colors(dream: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """The dream's luminance with the original's chroma, so the dream keeps the photo's palette."""
    ycc = rgb_to_ycbcr(original)
    ycc[:, :1] = rgb_to_ycbcr(dream)[:, :1]
    return ycbcr_to_rgb(ycc).clamp_(0.0, 1.0)


def finish(
    dream: torch.Tensor,
    original: torch.Tensor,
    *,
    keep_colors: bool = False,
    strength: float = 1.0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply keep-colours, then blend ``original + strength * mask * (dream - original)``."""
    out = with_original_colors(dream, original) if keep_colors else dream
    weight = torch.full_like(original[:, :1], strength) if mask is None else strength * mask.to(original)
    return original + weight * (out - original)
