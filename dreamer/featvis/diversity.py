"""Diversity (Lucid): several images of one unit, pushed apart by the similarity of their Gram matrices.

A polysemantic channel responds to several unrelated things; N images optimised together for it,
each penalised for a Gram matrix (style) like the others', tend to show different ones.
"""

from __future__ import annotations

import torch

from dreamer.core.objectives import Acts, Objective


def gram_vectors(act: torch.Tensor) -> torch.Tensor:
    """Each image's Gram matrix of channels, flattened and L2-normalised: (B, C, H, W) -> (B, C*C)."""
    flat = act.float().flatten(2)  # (B, C, HW)
    gram = torch.bmm(flat, flat.transpose(1, 2)) / flat.shape[-1]
    return torch.nn.functional.normalize(gram.flatten(1), dim=1, eps=1e-10)


def gram_similarity(act: torch.Tensor, group: int, views: int = 1) -> torch.Tensor:
    """Per view, the mean Gram cosine to the views of the *other* images of its group; (B*views,).

    The batch is groups of ``group`` images, each as ``views`` consecutive views (image-major).
    """
    g = gram_vectors(act)
    n = g.shape[0]
    per_group = group * views
    if n % per_group:
        raise ValueError(f"diversity: batch of {n} is not groups of {group} images x {views} views")
    g = g.view(n // per_group, per_group, -1)
    sims = torch.bmm(g, g.transpose(1, 2))  # (groups, per_group, per_group)
    image = torch.arange(per_group, device=g.device) // views
    other = (image[:, None] != image[None, :]).to(sims)
    return ((sims * other).sum(-1) / other.sum(-1).clamp_min(1)).flatten()


def diversity(layer: str, group: int, views: int = 1) -> Objective:
    """Gram similarity of each image to the others of its group at ``layer``: a penalty, subtract it."""

    def fn(acts: Acts) -> torch.Tensor:
        return gram_similarity(acts[layer], group, views) if group > 1 else acts[layer].new_zeros(len(acts[layer]))

    return Objective(fn, [layer], f"diversity({layer}, {group})")
