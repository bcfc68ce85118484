"""The colour leaf: a fixed decorrelation matrix between RGB and decorrelated colour, and the sigmoid to RGB.

Spatial leaves make images in decorrelated colour space, where ImageNet's colour channels are
uncorrelated, so that every colour direction learns at a similar rate (Lucid's recipe).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

# Square root of the ImageNet colour covariance (from Lucid): columns are decorrelated colour axes.
_COLOR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR = _COLOR_SQRT / _COLOR_SQRT.norm(dim=0).max()


def decorrelate_colors(t: torch.Tensor) -> torch.Tensor:
    """Decorrelated colour space -> RGB (before the sigmoid): (B, 3, H, W) -> (B, 3, H, W)."""
    return torch.einsum("bchw,rc->brhw", t, COLOR.to(t.device, t.dtype))


def to_decorrelated(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] (B, 3, H, W) -> centred decorrelated colour (the inverse of the colour matrix)."""
    inverse = torch.linalg.inv(COLOR).to(rgb)
    return torch.einsum("bchw,dc->bdhw", rgb - 0.5, inverse)


def to_valid_rgb(image_fn: Callable[[], torch.Tensor], decorrelate: bool = True) -> Callable[[], torch.Tensor]:
    """Wrap an unconstrained image function so it returns valid RGB in [0, 1]."""

    def inner() -> torch.Tensor:
        t = image_fn()
        return torch.sigmoid(decorrelate_colors(t) if decorrelate else t)

    return inner
