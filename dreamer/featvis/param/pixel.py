"""The pixel leaf: an image as plain pixels, the baseline the other parametrisations improve on."""

from __future__ import annotations

import torch

from dreamer.featvis.param.spatial import Param


def pixel_image(
    batch: int, h: int, w: int, *, generator: torch.Generator, device: torch.device | str = "cpu", sd: float = 0.01
) -> Param:
    """A batch of images as plain pixels (unconstrained values)."""
    pixels = (torch.randn(batch, 3, h, w, generator=generator) * sd).to(device).requires_grad_(True)
    return [pixels], lambda: pixels
