"""The spatial leaf (Lucid's Fourier parametrisation): an image as a 2-D spectrum scaled by 1/frequency.

Every frequency then learns at a similar rate, so the image does not fill with high-frequency static.
Values are unconstrained; the colour leaf turns them into RGB.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Param = tuple[list[torch.Tensor], Callable[[], torch.Tensor]]  # (tensors Adam optimises, image_fn)


def rfft_frequencies(h: int, w: int) -> torch.Tensor:
    """Frequency radius of every rfft2 bin of an h x w image, cycles per pixel: (h, w // 2 + 1)."""
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    return (fx * fx + fy * fy).sqrt()


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
    freqs = rfft_frequencies(h, w)  # (h, w//2+1)
    scale = (1.0 / freqs.clamp_min(1.0 / max(h, w)) ** decay_power).to(device)
    # (B, 3, h, w//2+1, 2): real and imaginary parts, drawn on the CPU so seeds agree across devices
    spectrum = (torch.randn(batch, 3, *freqs.shape, 2, generator=generator) * sd).to(device).requires_grad_(True)

    def image_fn() -> torch.Tensor:
        scaled = torch.view_as_complex(spectrum) * scale
        image = torch.fft.irfftn(scaled, s=(h, w), norm="ortho")  # (B, 3, h, w)
        return image / 4.0  # Lucid's constant: keeps the starting image near grey

    return [spectrum], image_fn
