"""The MACO leaf (Fel et al., NeurIPS 2023): optimise only the Fourier phase of an image, keep its magnitude natural.

The magnitude spectrum is fixed to the average spectrum of natural photos in decorrelated colour
space (``dreamer/assets/maco_spectrum.npy``, made by ``scripts/maco_spectrum.py`` from the bundled
public-domain photos), so the image keeps the energy per frequency of a photo and cannot fill with
high-frequency grain. The loop shows the network noisy random crops of the canvas
(``dreamer.featvis.transforms.random_crops``); values are unconstrained, the colour leaf makes them RGB.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dreamer.core.octaves import MIN_SIDE
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.featvis.param.color import to_decorrelated
from dreamer.featvis.param.spatial import Param, rfft_frequencies

SPECTRUM_SIDE = 128  # the shipped spectrum's size; resampled to the canvas
SPECTRUM_ASSET = Path(__file__).resolve().parents[2] / "assets" / "maco_spectrum.npy"
PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def compute_spectrum(photos: Iterable[Any], side: int = SPECTRUM_SIDE, crops: int = 48, seed: int = 0) -> np.ndarray:
    """Average rfft2 magnitude (3, side, side//2+1) of random square crops of photos, decorrelated colour."""
    from PIL import Image

    from dreamer.core.tensors import to_tensor

    g = torch.Generator().manual_seed(seed)
    total, count = torch.zeros(3, side, side // 2 + 1), 0
    for photo in photos:
        rgb = photo if isinstance(photo, Image.Image) else Image.open(photo)
        x = to_tensor(rgb.convert("RGB"))
        x = x if x.dim() == 4 else x[None]
        h, w = x.shape[-2:]
        for _ in range(crops):
            c = int(min(h, w) * (0.4 + 0.6 * float(torch.rand(1, generator=g))))
            y0, x0 = (int(torch.randint(n - c + 1, (1,), generator=g)) for n in (h, w))
            crop = F.interpolate(x[..., y0 : y0 + c, x0 : x0 + c], size=(side, side), mode="area")
            d = to_decorrelated(crop)
            total += torch.fft.rfft2(d - d.mean((-2, -1), keepdim=True), norm="ortho").abs()[0]
            count += 1
    if not count:
        raise DreamerError("`spectrum`: no photos to compute a spectrum from", field="spectrum")
    return (total / count).numpy().astype(np.float32)


def photos_in(folder: str | Path) -> list[Path]:
    """The photos in a folder (by suffix), sorted; an error naming the folder when there are none."""
    p = Path(folder)
    if not p.is_dir():
        raise DreamerError(f"{p}: not 'natural', 'powerlaw' or a folder of photos", field="spectrum")
    found = sorted(f for f in p.iterdir() if f.suffix.lower() in PHOTO_SUFFIXES)
    if not found:
        raise DreamerError(f"{p}: no photos ({', '.join(PHOTO_SUFFIXES)}) in the folder", field="spectrum")
    return found


def usable_photos(folder: str | Path) -> list[Any]:
    """The folder's photos that load and are at least ``MIN_SIDE`` a side, as RGB; the rest skipped with a warning.

    A folder with none left is a one-line error naming it.
    """
    from dreamer.outputs.images import load_image

    kept, skipped = [], []
    for path in photos_in(folder):
        try:
            rgb = load_image(path).rgb
        except DreamerError as exc:
            skipped.append(f"{path.name} ({str(exc).removeprefix(f'{path}: ')})")
            continue
        if min(rgb.size) < MIN_SIDE:
            skipped.append(f"{path.name} ({rgb.width}x{rgb.height}, under {MIN_SIDE} px a side)")
            continue
        kept.append(rgb)
    why = "; ".join(skipped)
    if not kept:
        raise DreamerError(f"{folder}: no usable photo in the folder ({why})", field="spectrum")
    if skipped:
        warnings.warn(f"{folder}: skipped {len(skipped)} of the spectrum's photos: {why}", DreamerWarning, stacklevel=2)
    return kept


def fit_power_law(spectrum: torch.Tensor) -> torch.Tensor:
    """The spectrum replaced per channel by its least-squares fit ``a / f**b`` (log-log, DC excluded)."""
    side = spectrum.shape[-2]
    f = rfft_frequencies(side, side).clamp_min(1.0 / side)
    keep = rfft_frequencies(side, side) > 0
    out = torch.empty_like(spectrum)
    for c in range(3):
        x, y = f[keep].log(), spectrum[c][keep].clamp_min(1e-8).log()
        slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
        out[c] = (y.mean() + slope * (f.log() - x.mean())).exp()
    return out


@functools.lru_cache(maxsize=4)
def load_spectrum(source: str = "natural") -> torch.Tensor:
    """The magnitude spectrum (3, S, S//2+1): ``natural`` (shipped), ``powerlaw`` (its fit) or a photo folder."""
    if source in ("natural", "powerlaw"):
        spectrum = torch.from_numpy(np.load(SPECTRUM_ASSET).astype(np.float32))
        return fit_power_law(spectrum) if source == "powerlaw" else spectrum
    return torch.from_numpy(compute_spectrum(usable_photos(source)))


def resample(spectrum: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """A spectrum made at one size, looked up at the frequencies of an h x w rfft2 (nearest lower-size bin)."""
    side = spectrum.shape[-2]
    fy = torch.fft.fftfreq(h)
    fx = torch.fft.rfftfreq(w)
    iy = (fy * side).round().long() % side  # same frequency in cycles per pixel, in the stored grid
    ix = (fx * side).round().long().clamp_max(spectrum.shape[-1] - 1)
    return spectrum[:, iy][:, :, ix]


def maco_image(
    batch: int,
    h: int,
    w: int,
    *,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    spectrum: str = "natural",
) -> Param:
    """A batch of images whose spectrum has a fixed natural magnitude and an optimised phase (decorrelated colour)."""
    magnitude = resample(load_spectrum(spectrum), h, w).to(device)
    phase = torch.randn(batch, 3, h, w // 2 + 1, generator=generator).to(device).requires_grad_(True)

    def image_fn() -> torch.Tensor:
        p = (phase - phase.mean((-2, -1), keepdim=True)) / phase.std((-2, -1), keepdim=True).clamp_min(1e-5)
        t = torch.fft.irfft2(torch.polar(magnitude.expand_as(p), p), s=(h, w), norm="ortho")
        return (t - t.mean((1, 2, 3), keepdim=True)) / t.std((1, 2, 3), keepdim=True).clamp_min(1e-5)

    return [phase], image_fn
