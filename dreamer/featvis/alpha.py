"""Transparency for feature visualisations: alpha from the importance map, and checkerboard previews.

The importance of a pixel is the |gradient| of the objective with respect to it, summed over the
run (MACO's attribution). Clipped at its 80th percentile and scaled to [0, 1], it is the alpha
channel: the parts of the image the network relied on stay opaque, the rest fades out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image

from dreamer.core.tensors import to_pil
from dreamer.outputs.sheets import labelled_grid

PERCENTILE = 0.8
CHECKER = 8  # checkerboard square, pixels


def importance_alpha(importance: torch.Tensor, percentile: float = PERCENTILE, blur: float = 1.5) -> torch.Tensor:
    """Accumulated |gradient| (B, 1, H, W) -> alpha in [0, 1]: lightly blurred, clipped at a percentile."""
    x = importance.float()
    if blur > 0:
        r = max(1, round(2 * blur))
        k = torch.exp(-0.5 * (torch.arange(-r, r + 1, device=x.device, dtype=x.dtype) / blur) ** 2)
        k = k / k.sum()
        x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
        x = F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
    top = torch.quantile(x.flatten(1), percentile, dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return (x / top).clamp(0.0, 1.0)


def to_image(t: torch.Tensor) -> Image.Image:
    """(3, H, W) -> RGB, (4, H, W) -> RGBA PIL image; values in [0, 1]."""
    if t.shape[0] == 3:
        return to_pil(t)
    rgb, a = to_pil(t[:3]), to_pil(t[3:4].expand(3, -1, -1)).convert("L")
    rgb.putalpha(a)
    return rgb


def checkerboard(size: tuple[int, int], square: int = CHECKER) -> Image.Image:
    """A light grey checkerboard, the usual backdrop for transparent images."""
    w, h = size
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    light = ((yy // square + xx // square) % 2 == 0).numpy()
    board = Image.new("L", size, 204)
    board.paste(255, mask=Image.fromarray((light * 255).astype("uint8"), "L"))
    return board.convert("RGB")


def on_checkerboard(image: Image.Image) -> Image.Image:
    """An RGBA image composited over a checkerboard (RGB unchanged)."""
    if image.mode != "RGBA":
        return image
    board = checkerboard(image.size).convert("RGBA")
    return Image.alpha_composite(board, image).convert("RGB")


def rgba_sheet(images: list[Image.Image], labels: list[str], columns: int | None) -> Image.Image:
    """A labelled sheet of RGBA cells, each keeping its own alpha; captions and gaps opaque."""
    rgb = labelled_grid([im.convert("RGB") for im in images], labels, columns)
    alpha = labelled_grid([im.getchannel("A").convert("RGB") for im in images], [""] * len(images), columns)
    rgb.putalpha(alpha.convert("L"))
    return rgb
