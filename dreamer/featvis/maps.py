"""A photo's activation maps: where each channel fires in it, beside what that channel wants to see.

Also picks the channels a photo excites most (``top_channels``), which ``grid --top`` uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from dreamer.core.tensors import to_tensor
from dreamer.errors import DreamerError
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.wrapper import DreamModel
from dreamer.outputs.imagelike import as_loaded
from dreamer.outputs.images import fit_max_side

MAX_ASPECT = 8  # a map beside its visualisation stays readable up to this ratio of the photo's sides
PHOTO_SIDE = 320  # the photo is looked at this size: enough for mid-level features, quick on a CPU

# Anchors of a perceptually ordered dark-to-bright colour map (close to matplotlib's "inferno").
_HEAT = np.array(
    [
        [0, 0, 4],
        [40, 11, 84],
        [101, 21, 110],
        [159, 42, 99],
        [212, 72, 66],
        [245, 125, 21],
        [250, 193, 39],
        [252, 255, 164],
    ],
    dtype=np.float32,
)


def photo_activations(model: DreamModel, photo: Any, layer: str) -> tuple[torch.Tensor, Image.Image]:
    """The layer's activations (C, h, w) for a photo looked at ``PHOTO_SIDE`` px, and that photo."""
    if photo is None:
        raise DreamerError("a photo is needed to show activation maps")
    rgb = as_loaded(photo, "photo", seeable=True).rgb
    ratio = max(rgb.size) / min(rgb.size)
    if ratio > MAX_ASPECT:
        raise DreamerError(
            f"photo is {rgb.width}x{rgb.height}: too thin for activation maps (at most {MAX_ASPECT}:1); crop it first"
        )
    rgb = rgb.resize(fit_max_side(rgb.size, PHOTO_SIDE), Image.Resampling.LANCZOS)
    with LayerHooks(model, [layer]) as run, torch.no_grad():
        act = run(to_tensor(rgb).to(model.device))[layer][0].float().cpu()
    return act, rgb


def top_channels(model: DreamModel, photo: Any, layer: str, k: int) -> list[int]:
    """The ``k`` channels of ``layer`` with the highest mean activation on the photo, strongest first."""
    act, _ = photo_activations(model, photo, layer)
    return _strongest(act, layer, k)


def _strongest(act: torch.Tensor, layer: str, k: int) -> list[int]:
    if not 1 <= k <= act.shape[0]:
        raise DreamerError(f"{k}: layer {layer} has {act.shape[0]} channels (use 1-{act.shape[0]})", field="top")
    return act.mean((1, 2)).topk(k).indices.tolist()


def heat_map(photo: Image.Image, act: torch.Tensor, size: tuple[int, int]) -> Image.Image:
    """One channel's map (h, w), scaled to its own maximum, coloured over a greyed photo."""
    a = act.clamp_min(0)[None, None]
    a = F.interpolate(a, size=(size[1], size[0]), mode="bilinear", align_corners=False)[0, 0]
    a = (a / a.max().clamp_min(1e-8)).numpy()
    pos = a * (len(_HEAT) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(_HEAT) - 2)
    frac = (pos - lo)[..., None]
    colour = _HEAT[lo] * (1 - frac) + _HEAT[lo + 1] * frac
    grey = np.asarray(photo.convert("L").resize(size), dtype=np.float32)[..., None]
    mixed = 0.35 * grey + 0.65 * colour
    return Image.fromarray(mixed.clip(0, 255).astype(np.uint8), "RGB")


def pair_size(rgb: Image.Image, size: int) -> tuple[int, int]:
    """(width, height) of one ``map_pairs`` image: the heat map at the photo's aspect, a gap, the visualisation."""
    return round(size * rgb.width / rgb.height) + 2 + size, size


def map_pairs(
    rgb: Image.Image, act: torch.Tensor, picked: Sequence[int], visuals: Sequence[Image.Image], size: int
) -> list[Image.Image]:
    """Each picked channel's heat map over the photo beside its visualisation, as one image per channel."""
    map_size = (round(size * rgb.width / rgb.height), size)
    pairs = []
    for c, vis in zip(picked, visuals, strict=True):
        pair = Image.new("RGB", pair_size(rgb, size), "white")
        pair.paste(heat_map(rgb, act[c], map_size), (0, 0))
        pair.paste(vis, (map_size[0] + 2, 0))
        pairs.append(pair)
    return pairs


def pick_channels(act: torch.Tensor, layer: str, channels: Sequence[int] | None, top: int | None) -> list[int]:
    """The channels to show: the given ones (checked), else the ``top`` (default 8) strongest."""
    if channels and top is not None:
        raise DreamerError("give `channels` or `top`, not both", refs=("channels", "top"))
    picked = list(channels) if channels else _strongest(act, layer, top or 8)
    bad = [c for c in picked if not 0 <= c < act.shape[0]]
    if bad:
        raise DreamerError(
            f"`channels`: channel {bad[0]} out of range (layer {layer} has {act.shape[0]})", field="channels"
        )
    return picked
