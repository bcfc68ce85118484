"""How far apart two images look to the network: a distance between early-layer features.

``feature_distance(model, a, b)`` runs both images (RGB in [0, 1], the same size) to an early
layer of the network (``blocks.1`` of the bundled Lite0: edges, colour blobs and small textures, at
a quarter of the image's size), averages them over cells of 16x16 image pixels (so a pattern shifted by
a few pixels still counts as the same pattern) and takes the mean absolute difference, divided by the
features' mean absolute size. 0 is the same image, 2 the end of the scale. The cells are compared
place by place, so it measures how two renders of *one* photo differ (a style against the photo, or
two styles against each other), not whether two different photos show similar things.
Tests and ``bench/looks.py`` use it to hold the shipped styles to stated bounds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dreamer.nets.hooks import LayerHooks
from dreamer.nets.wrapper import DreamModel

LIKENESS_LAYER = "blocks.1"  # early enough to see the photo's own edges, late enough to see textures
CELL = 4  # features averaged over 4x4 positions (16x16 image pixels at blocks.1) before they are compared


def features(model: DreamModel, images: torch.Tensor, layer: str = LIKENESS_LAYER) -> torch.Tensor:
    """The (B, C, h, w) float32 activations of an RGB [0, 1] image batch at ``layer`` (no gradient)."""
    with torch.no_grad(), LayerHooks(model, [layer]) as run:
        return run(images.to(model.device, torch.float32))[layer]


def feature_distance(model: DreamModel, a: torch.Tensor, b: torch.Tensor, layer: str = LIKENESS_LAYER) -> float:
    """Normalised mean absolute difference of two same-size images' features at ``layer`` (0 = the same)."""
    if a.shape != b.shape:
        raise ValueError(f"feature_distance compares images of one size, got {tuple(a.shape)} and {tuple(b.shape)}")
    fa, fb = F.avg_pool2d(features(model, torch.cat([a, b]), layer), CELL, ceil_mode=True).chunk(2)
    scale = (fa.abs().mean() + fb.abs().mean()) / 2
    return float((fa - fb).abs().mean() / scale.clamp_min(1e-8))
