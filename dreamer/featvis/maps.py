"""A photo's activation maps: where each channel fires in it, beside what that channel wants to see.

Also picks the channels a photo excites most (``top_channels``), which ``grid --top`` uses.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from dreamer.errors import DreamerError
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.registry import DreamModel
from dreamer.outputs.images import as_loaded, fit_max_side, labelled_grid, to_tensor
from dreamer.spec.config import VisConfig

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
    rgb = as_loaded(photo).rgb
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
        raise DreamerError(f"--top {k}: layer {layer} has {act.shape[0]} channels (use 1-{act.shape[0]})")
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


def maps(
    photo: Any,
    layer: str,
    channels: Sequence[int] | None = None,
    config: VisConfig | None = None,
    *,
    top: int | None = None,
    model: Any = None,
    columns: int | None = None,
    progress: bool = True,
    **options: Any,
) -> Image.Image:
    """Heat maps of the photo's activations at ``layer``, each beside its channel's visualisation."""
    from dreamer.core.objectives import channel
    from dreamer.featvis.optimize import Cell, _config, _metadata, render_cells, resolve_model

    config = _config(config, options)
    started = time.perf_counter()
    dm = resolve_model(model, config)
    if channels and top is not None:
        raise DreamerError("give --channels or --top, not both")
    loaded = as_loaded(photo)
    act, rgb = photo_activations(dm, loaded, layer)
    picked = list(channels) if channels else _strongest(act, layer, top or 8)
    bad = [c for c in picked if c >= act.shape[0]]
    if bad:
        raise DreamerError(f"--channels: channel {bad[0]} out of range (layer {layer} has {act.shape[0]})")
    cells = [Cell(channel(layer, c), f"{layer}:{c}") for c in picked]
    visuals = render_cells(dm, cells, config, progress=progress)
    s = config.size
    map_size = (round(s * rgb.width / rgb.height), s)
    pairs = []
    for c, vis in zip(picked, visuals, strict=True):
        pair = Image.new("RGB", (map_size[0] + 2 + s, s), "white")
        pair.paste(heat_map(rgb, act[c], map_size), (0, 0))
        pair.paste(vis, (map_size[0] + 2, 0))
        pairs.append(pair)
    means = act.mean((1, 2))
    labels = [f"{layer}:{c}  mean {float(means[c]):.2f}" for c in picked]
    out = labelled_grid(pairs, labels, columns or (2 if len(pairs) > 3 else len(pairs)))
    out.info["dreamer"] = _metadata(
        dm, config, started, photo=loaded.path.name if loaded.path else None, layer=layer, channels=picked
    )
    return out
