"""An activation atlas's tensor work: patches sampled from a photo, cell directions and their objective.

A patch is one spatial position of a layer on a photo looked at one of ``SIDES`` sizes: its
activation vector (C,) and the box of the photo around that position (``PATCH_STRIDES`` strides a
side, in the photo's own pixels). A cell's picture maximises ``dot * clamp(cos, 0.1) ** power`` with
the mean activation of the patches in it (Lucid's direction objective), averaged over positions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from dreamer.core.objectives import Acts, Objective
from dreamer.core.tensors import to_tensor
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.wrapper import DreamModel
from dreamer.outputs.images import fit_max_side

SIDES = (224, 320, 448)  # the photo's longer side at each look: patches of several scales
PATCH_STRIDES = 4  # a patch's side, in the layer's strides (64 px at blocks.4 of Lite0, stride 16)
BORDER = 1  # positions this close to the edge are skipped (padding shows there)


def patch_box(y: int, x: int, grid: tuple[int, int], size: tuple[int, int], photo: tuple[int, int]) -> list[int]:
    """The patch around position (y, x) of an (h, w) grid on a (W, H) look, in the photo's (W0, H0) pixels."""
    (h, w), (width, height), (w0, h0) = grid, size, photo
    sy, sx = height / h, width / w
    side = PATCH_STRIDES * max(sx, sy) * w0 / width
    side = min(side, w0, h0)
    cx, cy = (x + 0.5) * sx * w0 / width, (y + 0.5) * sy * h0 / height
    x0 = min(max(cx - side / 2, 0.0), w0 - side)
    y0 = min(max(cy - side / 2, 0.0), h0 - side)
    return [round(x0), round(y0), round(x0 + side), round(y0 + side)]


def photo_patches(
    model: DreamModel, photo: Image.Image, layer: str, count: int, generator: torch.Generator
) -> tuple[torch.Tensor, list[list[int]]]:
    """``count`` random patches of the photo (fewer if it has fewer): activations (N, C) and boxes [x0, y0, x1, y1]."""
    vectors, boxes = [], []
    with LayerHooks(model, [layer]) as run, torch.no_grad():
        for side in SIDES:
            size = fit_max_side(photo.size, side) if max(photo.size) >= side else _grown(photo.size, side)
            look = photo.resize(size, Image.Resampling.LANCZOS)
            act = run(to_tensor(look).to(model.device))[layer][0].float().cpu()  # (C, h, w)
            h, w = act.shape[-2:]
            b = BORDER if min(h, w) > 2 * BORDER + 1 else 0
            ys, xs = torch.meshgrid(torch.arange(b, h - b), torch.arange(b, w - b), indexing="ij")
            vectors.append(act[:, ys.flatten(), xs.flatten()].T)
            positions = zip(ys.flatten().tolist(), xs.flatten().tolist(), strict=True)
            boxes += [patch_box(y, x, (h, w), size, photo.size) for y, x in positions]
    every = torch.cat(vectors)
    pick = torch.randperm(len(every), generator=generator)[:count].sort().values
    return every[pick], [boxes[i] for i in pick.tolist()]


def _grown(size: tuple[int, int], side: int) -> tuple[int, int]:
    """(width, height) scaled up so the longer side is ``side``."""
    w, h = size
    scale = side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def cell_directions(vectors: torch.Tensor, cells: torch.Tensor, kept: Sequence[int]) -> torch.Tensor:
    """The mean activation (K, C) of the points in each kept cell."""
    return torch.stack([vectors[cells == c].float().mean(0) for c in kept])


def nearest_in_cell(vectors: torch.Tensor, members: torch.Tensor, direction: torch.Tensor, k: int) -> list[int]:
    """Up to ``k`` of a cell's points, closest in direction (cosine) to its mean activation first."""
    if k <= 0 or not len(members):
        return []
    cos = torch.nn.functional.cosine_similarity(vectors[members].float(), direction[None].float(), dim=1)
    return members[cos.argsort(descending=True)[:k]].tolist()


def directions(layer: str, targets: torch.Tensor, power: float, floor: float = 0.1) -> Objective:
    """Image i of the batch climbs ``dot * clamp(cos, floor) ** power`` with ``targets[i]`` at ``layer``.

    ``targets`` (K, C); a batch of K * v views (image-major) gives image i's v views target i. The
    score is averaged over the layer's positions.
    """
    unit = torch.nn.functional.normalize(targets.float(), dim=1)

    def fn(acts: Acts) -> torch.Tensor:
        act = acts[layer].float()  # (B, C, H, W)
        views = act.shape[0] // len(unit)
        d = unit.to(act.device).repeat_interleave(views, 0)[:, :, None, None]
        dot = (act * d).sum(1)  # (B, H, W)
        cos = dot / act.norm(dim=1).clamp_min(1e-8)
        return (dot * cos.clamp_min(floor).pow(power)).flatten(1).mean(1)

    return Objective(fn, [layer], f"directions({layer}, {len(unit)})")
