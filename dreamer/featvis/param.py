"""Image parametrisations for feature visualisation: each returns ``(params, image_fn)``.

``params`` are the tensors Adam optimises; ``image_fn()`` turns them into an RGB batch in
[0, 1]. The Fourier one (Lucid's) scales a random spectrum by 1/frequency, so every
frequency learns at a similar rate and the image does not fill with high-frequency static;
colours go through a fixed decorrelation matrix; a sigmoid keeps pixels valid.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from dreamer.errors import DreamerError

Param = tuple[list[torch.Tensor], Callable[[], torch.Tensor]]
PARAMS = ("maco", "fourier", "pixel")

# Square root of the ImageNet colour covariance (from Lucid): columns are decorrelated colour axes.
_COLOR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR = _COLOR_SQRT / _COLOR_SQRT.norm(dim=0).max()


def decorrelate_colors(t: torch.Tensor) -> torch.Tensor:
    """Decorrelated colour space -> RGB (before the sigmoid): (B, 3, H, W) -> (B, 3, H, W)."""
    return torch.einsum("bchw,rc->brhw", t, COLOR.to(t.device, t.dtype))


def to_valid_rgb(image_fn: Callable[[], torch.Tensor], decorrelate: bool = True) -> Callable[[], torch.Tensor]:
    """Wrap an unconstrained image function so it returns valid RGB in [0, 1]."""

    def inner() -> torch.Tensor:
        t = image_fn()
        return torch.sigmoid(decorrelate_colors(t) if decorrelate else t)

    return inner


def fourier_image(
    batch: int,
    h: int,
    w: int,
    *,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    sd: float = 0.01,
    decay_power: float = 1.0,
) -> Param:
    """A batch of images as 2-D spectra scaled by 1/frequency (unconstrained values)."""
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    freqs = (fx * fx + fy * fy).sqrt()  # (h, w//2+1)
    scale = (1.0 / freqs.clamp_min(1.0 / max(h, w)) ** decay_power).to(device)
    # (B, 3, h, w//2+1, 2): real and imaginary parts, drawn on the CPU so seeds agree across devices
    spectrum = (torch.randn(batch, 3, *freqs.shape, 2, generator=generator) * sd).to(device).requires_grad_(True)

    def image_fn() -> torch.Tensor:
        scaled = torch.view_as_complex(spectrum) * scale
        image = torch.fft.irfftn(scaled, s=(h, w), norm="ortho")  # (B, 3, h, w)
        return image / 4.0  # Lucid's constant: keeps the starting image near grey

    return [spectrum], image_fn


def pixel_image(
    batch: int, h: int, w: int, *, generator: torch.Generator, device: torch.device | str = "cpu", sd: float = 0.01
) -> Param:
    """A batch of images as plain pixels (unconstrained values)."""
    pixels = (torch.randn(batch, 3, h, w, generator=generator) * sd).to(device).requires_grad_(True)
    return [pixels], lambda: pixels


def image(
    batch: int,
    h: int,
    w: int,
    *,
    param: str = "fourier",
    decorrelate: bool = True,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    spectrum: str = "natural",
) -> Param:
    """The parametrisation by name, wrapped to give RGB in [0, 1] (``spectrum``: MACO's magnitude source)."""
    if param == "maco":
        from dreamer.featvis.maco import maco_image

        return maco_image(batch, h, w, generator=generator, device=device, spectrum=spectrum)
    if param == "fourier":
        params, fn = fourier_image(batch, h, w, generator=generator, device=device)
    elif param == "pixel":
        params, fn = pixel_image(batch, h, w, generator=generator, device=device)
    else:
        raise DreamerError(
            f"`param`: unknown parametrisation {param!r} (use one of {', '.join(PARAMS)})", field="param"
        )
    return params, to_valid_rgb(fn, decorrelate)
