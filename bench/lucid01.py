"""0.1's feature-visualisation transforms, kept here only as the bench's baseline (``bench/grid.py``).

Lucid's chain as five separate transforms whose output size changes every step (random crops and
scale); ``dreamer.featvis.transforms`` now does the same in one resample to a fixed size.

An image that keeps a feature firing while it is padded, shifted, scaled and rotated has to
contain that feature, not a pixel-exact adversarial pattern. Each transform is a small
closure ``(image, generator) -> image`` taking its device from the image; ``compose`` joins them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _choice(values: Sequence[float], generator: torch.Generator) -> float:
    return values[int(torch.randint(len(values), (1,), generator=generator))]


def pad(width: int, value: float = 0.5) -> Transform:
    """Constant grey border, so the edges are not special."""

    def t(image: torch.Tensor, _generator: torch.Generator) -> torch.Tensor:
        return F.pad(image, (width,) * 4, mode="constant", value=value)

    return t


def jitter(d: int) -> Transform:
    """Random crop that is ``d`` pixels smaller: a random shift by up to ``d``."""

    def t(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        h, w = image.shape[-2:]
        dy, dx = torch.randint(d + 1, (2,), generator=generator).tolist()
        return image[..., dy : dy + h - d, dx : dx + w - d]

    return t


def random_scale(scales: Sequence[float]) -> Transform:
    """Resize by a factor drawn from ``scales``."""

    def t(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        s = _choice(scales, generator)
        h, w = image.shape[-2:]
        return F.interpolate(image, size=(round(h * s), round(w * s)), mode="bilinear", align_corners=False)

    return t


def random_rotate(degrees: Sequence[float]) -> Transform:
    """Rotate about the centre by an angle drawn from ``degrees``."""

    def t(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        a = math.radians(_choice(degrees, generator))
        theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]])
        theta = theta.to(image.device, image.dtype).expand(image.shape[0], 2, 3)
        grid = F.affine_grid(theta, list(image.shape), align_corners=False)
        return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)

    return t


def compose(*transforms: Transform) -> Transform:
    """Apply transforms in order."""

    def t(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for transform in transforms:
            image = transform(image, generator)
        return image

    return t


def standard_transforms() -> Transform:
    """Lucid's recipe: pad 12, jitter 8, scale 0.9-1.1, rotate -10..10 degrees, jitter 4."""
    return compose(
        pad(12),
        jitter(8),
        random_scale([1 + (i - 5) / 50 for i in range(11)]),
        random_rotate([*range(-10, 11), *[0] * 5]),
        jitter(4),
    )
