"""Random transformations applied before each forward pass (Lucid's transformation robustness).

An image that keeps a feature firing while it is padded, shifted, scaled and rotated has to
contain that feature, not a pixel-exact adversarial pattern. Lucid's recipe (pad 12, jitter 8,
scale 0.9-1.1, rotate -10..10 degrees, jitter 4) is done here as one affine resample into an
output of fixed size: the network sees the same shapes every step, so oneDNN reuses its
kernels instead of building new ones for each random size (measured 1.5-1.9x per step,
``bench/grid.py``). MACO's views instead are several random crops of the canvas with a little
noise (``random_crops``). Randomness comes from an explicit ``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

PAD = 12  # grey border, so the edges are not special
SHIFT = (8, 4)  # Lucid's two jitters, in pixels: a random shift of up to their sum
SCALES = tuple(1 + (i - 5) / 50 for i in range(11))  # 0.9 .. 1.1
DEGREES = (*range(-10, 11), *[0] * 5)  # -10 .. 10, with extra weight on upright


def _choice(values: Sequence[float], generator: torch.Generator) -> float:
    return values[int(torch.randint(len(values), (1,), generator=generator))]


def _shift(generator: torch.Generator) -> float:
    """The two jitters' combined offset from the centre, in pixels."""
    return sum(int(torch.randint(d + 1, (1,), generator=generator)) - d / 2 for d in SHIFT)


def standard_transforms(pad: int = PAD) -> Transform:
    """Lucid's recipe as one resample: (B, C, H, W) -> (B, C, H + 2 * pad - sum(SHIFT), ...), the same each step."""

    def t(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b, _, h, w = image.shape
        padded = F.pad(image, (pad,) * 4, mode="constant", value=0.5)
        ph, pw = h + 2 * pad, w + 2 * pad
        oh, ow = ph - sum(SHIFT), pw - sum(SHIFT)
        dy, dx = _shift(generator), _shift(generator)
        s = _choice(SCALES, generator)
        a = math.radians(_choice(DEGREES, generator))
        # Output pixel offsets from the centre map to input offsets rotated by a and divided by s;
        # affine_grid works in [-1, 1] per axis, hence the size ratios (they keep rotations square).
        cos, sin = math.cos(a) / s, math.sin(a) / s
        theta = torch.tensor(
            [[cos * ow / pw, -sin * oh / pw, 2 * dx / pw], [sin * ow / ph, cos * oh / ph, 2 * dy / ph]],
            dtype=image.dtype,
            device=image.device,
        ).expand(b, 2, 3)
        grid = F.affine_grid(theta, [b, image.shape[1], oh, ow], align_corners=False)
        return F.grid_sample(padded, grid, mode="bilinear", padding_mode="border", align_corners=False)

    return t


def random_crops(
    image: torch.Tensor,
    n: int,
    size: int | tuple[int, int],
    box: tuple[float, float],
    noise: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """``n`` random crops per image (sides a ``box`` fraction of the canvas's), resized, with noise.

    (B, C, H, W) -> (B * n, C, size, size) (or ``size`` (h, w)), image-major; Gaussian and uniform noise of
    scale ``noise`` (``with_noise``).
    """
    b = image.shape[0]
    m = b * n
    scale = box[0] + (box[1] - box[0]) * torch.rand(m, generator=generator)
    centre = (torch.rand(m, 2, generator=generator) * 2 - 1) * (1 - scale)[:, None]
    zero = torch.zeros(m)
    theta = torch.stack(
        [torch.stack([scale, zero, centre[:, 0]], 1), torch.stack([zero, scale, centre[:, 1]], 1)], 1
    ).to(image)
    oh, ow = (size, size) if isinstance(size, int) else size
    grid = F.affine_grid(theta, [m, image.shape[1], oh, ow], align_corners=False)
    crops = F.grid_sample(image.repeat_interleave(n, 0), grid, mode="bilinear", align_corners=False)
    return with_noise(crops, noise, generator)


def with_noise(images: torch.Tensor, noise: float, generator: torch.Generator) -> torch.Tensor:
    """``images`` plus Gaussian and uniform noise of scale ``noise`` (MACO's crop noise); unchanged at 0."""
    if noise <= 0:
        return images
    jitter = torch.randn(images.shape, generator=generator) * noise
    jitter += (torch.rand(images.shape, generator=generator) - 0.5) * noise
    return images + jitter.to(images)


def crop_box(config: Any, progress: float) -> tuple[float, float]:
    """The range of crop sides at this point of the run: from ``crop_max`` wide down to ``crop_min``."""
    lo, top = sorted((config.crop_min, config.crop_max))
    return (lo, top - (top - lo) * 0.5 * progress)
