"""Caricatures (Lucid's recipe): an image optimised from noise whose activations match a photo's, amplified.

At each chosen layer the score is Lucid's ``sum over positions of dot(a, a0) * clamp(cos(a, a0), 0.1) ** p``,
divided by the photo's own ``sum |a0|^2`` so every layer scores 1 for the photo itself and layers of
different magnitudes can be weighted against each other. ``dot`` rewards going further than the photo in
its direction; the cosine power keeps the direction. Image and photo are stacked along the channels before
the random views (MACO's crops or Lucid's transforms), so each view shows both the same way and the
positions of ``a`` and ``a0`` agree. The photo's side runs without gradients.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from dreamer.core.objectives import MAX_WEIGHT, Acts
from dreamer.errors import DreamerError
from dreamer.featvis import param
from dreamer.featvis.transforms import crop_box, random_crops, standard_transforms, with_noise
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.wrapper import DreamModel
from dreamer.spec.specs import VisSpec

COS_FLOOR = 0.1  # Lucid's clamp: a position pointing away from the photo still counts a little, never negatively
_TERM = re.compile(r"^\s*(?P<layer>[A-Za-z_][\w.]*)\s*(?::\s*(?P<w>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))?\s*$")

Weighted = tuple[tuple[str, float], ...]  # ((layer, weight), ...)


def parse_layers(specs: Sequence[str]) -> Weighted:
    """``["blocks.4", "blocks.2:0.3"]`` -> ``(("blocks.4", 1.0), ("blocks.2", 0.3))``; a bad one is a one-line error."""
    out: dict[str, float] = {}
    for text in specs:
        m = _TERM.match(text)
        if not m:
            raise DreamerError(
                f"{text!r}: a caricature layer is LAYER[:WEIGHT], e.g. blocks.4 or blocks.2:0.3",
                field="caricature_layers",
            )
        weight = float(m.group("w")) if m.group("w") else 1.0
        if not 0 < weight <= MAX_WEIGHT:
            raise DreamerError(
                f"{text}: the weight must be above 0 and at most {MAX_WEIGHT:g}", field="caricature_layers"
            )
        out[m.group("layer")] = out.get(m.group("layer"), 0.0) + weight
    return tuple(out.items())


def caricature_score(act: torch.Tensor, target: torch.Tensor, power: float) -> torch.Tensor:
    """Lucid's caricature score of ``act`` against ``target`` (both (B, C, H, W)), per image, 1 when they agree.

    ``sum_pos dot(a, a0) * max(cos(a, a0), 0.1) ** power / sum_pos |a0|^2``.
    """
    a, a0 = act.float(), target.float()
    dot = (a * a0).sum(1)  # (B, H, W)
    cos = dot / (a.norm(dim=1) * a0.norm(dim=1)).clamp_min(1e-8)
    score = (dot * cos.clamp_min(COS_FLOOR) ** power).flatten(1).sum(1)
    return score / a0.pow(2).flatten(1).sum(1).clamp_min(1e-8)


def total_score(acts: Acts, targets: Acts, layers: Weighted, power: float) -> torch.Tensor:
    """The weighted sum of each layer's caricature score, per image."""
    return sum(w * caricature_score(acts[name], targets[name], power) for name, w in layers)  # type: ignore[return-value]


def layer_cosines(
    model: DreamModel, image: torch.Tensor, photo: torch.Tensor, layers: Sequence[str]
) -> dict[str, float]:
    """The cosine between the image's and the photo's whole activations at each layer (1 = the photo's own)."""
    with torch.no_grad(), LayerHooks(model, layers) as run:
        acts = run(torch.cat([image, photo]).to(model.device))
    return {n: float(F.cosine_similarity(acts[n][:1].flatten(), acts[n][1:].flatten(), dim=0)) for n in layers}


def _views(spec: VisSpec, h: int, w: int) -> Callable[[torch.Tensor, torch.Generator, float], torch.Tensor]:
    """The random views of the image and photo stacked (1, 6, H, W): MACO's noisy crops or Lucid's transforms."""
    if param.LEAVES[spec.param].crops:
        side = max(h, w)
        size = (round(spec.size * h / side), round(spec.size * w / side))
        return lambda both, g, progress: random_crops(both, spec.crops, size, crop_box(spec, progress), 0.0, g)
    transform = standard_transforms() if spec.transforms else None
    return lambda both, g, _progress: transform(both, g) if transform else both


def caricaturize(
    model: DreamModel,
    photo: torch.Tensor,
    layers: Weighted,
    spec: VisSpec,
    *,
    power: float,
    generator: torch.Generator,
    on_step: Callable[[int, torch.Tensor, float], None] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """A caricature of ``photo`` (1, 3, H, W) at ``layers`` from noise in the spec's parametrisation; image and scores.

    The scores: the caricature score at the end (on the whole canvas) and each layer's activation cosine.
    MACO's crop noise is added to the image's side only; ``on_step`` gets (step, image, score).
    """
    h, w = photo.shape[-2:]
    x0 = photo.to(model.device).float()
    params, image_fn = param.image(1, h, w, spec, generator=generator, device=model.device)
    optimizer = param.LEAVES[spec.param].optimizer(params, lr=spec.learning_rate)
    view = _views(spec, h, w)
    noise = spec.crop_noise if param.LEAVES[spec.param].crops else 0.0
    names = [n for n, _ in layers]
    steps = spec.step_count
    with LayerHooks(model, names) as run:
        for step in range(steps):
            optimizer.zero_grad(set_to_none=True)
            image = image_fn()
            seen = view(torch.cat([image, x0], 1), generator, step / max(steps, 1))
            mine, theirs = with_noise(seen[:, :3], noise, generator), seen[:, 3:]
            with torch.no_grad():
                targets = run(theirs)
            score = total_score(run(mine), targets, layers, power).mean()
            (-score).backward()
            optimizer.step()
            if on_step is not None:
                on_step(step, image.detach(), float(score.detach()))
        with torch.no_grad():
            final = image_fn().clamp(0.0, 1.0)
            acts = run(torch.cat([final, x0]))
            end = total_score({k: v[:1] for k, v in acts.items()}, {k: v[1:] for k, v in acts.items()}, layers, power)
    scores = {"caricature": float(end), **{f"cos {n}": c for n, c in layer_cosines(model, final, x0, names).items()}}
    return final, scores
