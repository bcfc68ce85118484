"""Feature accentuation (Hamblin et al. 2024): grow a channel or class *in a photo*, kept close to it.

The image starts as the photo (a Fourier-parametrised change on top of its logits, so edits are
smooth and colour-decorrelated) and climbs the target objective under Lucid's random transforms,
while an L2 penalty (the RMS distance, whose gradient does not vanish as the distance shrinks) keeps
an earlier layer's activations near the photo's. The penalty's weight is balanced at step 0 by the
ratio of the two gradients' norms (times ``accent_weight``), so one setting works for channels and
logits alike. What changes shows what in this photo drives the feature.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from dreamer.core.objectives import Objective
from dreamer.featvis.param.color import decorrelate_colors
from dreamer.featvis.param.spatial import fourier_image
from dreamer.featvis.transforms import standard_transforms
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.wrapper import DreamModel
from dreamer.spec.specs import VisSpec

ACCENT_LR = 0.02  # Adam on the Fourier change: 0.05 (Lucid's, from noise) rewrote the photo wholesale in 32 steps
ACCENT_STEPS = 64


def default_accent_layer(model: DreamModel) -> str:
    """The earliest of the model's recommended dream layers (``blocks.2`` on Lite0): mid-level, below most targets."""
    order = {name: i for i, name in enumerate(model.layer_names())}
    layers = [n for n in model.spec.dream_layers if n in order]
    if not layers:
        names = [n for n in model.layer_names() if n.count(".") == 1]
        return names[len(names) // 3] if names else model.layer_names()[0]
    return min(layers, key=order.__getitem__)


def accent_steps(config: VisSpec) -> int:
    """The steps an accentuation takes: the given count (0 too), else ``ACCENT_STEPS``."""
    return config.steps if config.steps is not None else ACCENT_STEPS


def accentuate(
    model: DreamModel,
    photo: torch.Tensor,
    objective: Objective,
    config: VisSpec,
    *,
    layer: str,
    weight: float = 1.0,
    generator: torch.Generator,
    on_step: Callable[[int, float], None] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Accentuate ``objective`` in ``photo`` (1, 3, H, W); the image and the scores at start and end.

    ``weight`` scales the balanced L2 penalty on ``layer`` (0 = plain ascent from the photo).
    """
    h, w = photo.shape[-2:]
    x0 = photo.to(model.device).float()
    base = torch.logit(x0.clamp(0.02, 0.98))
    params, delta = fourier_image(1, h, w, generator=generator, device=model.device)
    optimizer = torch.optim.Adam(params, lr=config.lr if config.lr is not None else ACCENT_LR)
    transform = standard_transforms() if config.transforms else None

    def image_fn() -> torch.Tensor:
        return torch.sigmoid(base + decorrelate_colors(delta()))

    def terms(run: LayerHooks) -> tuple[torch.Tensor, torch.Tensor]:
        both = torch.cat([image_fn(), x0])
        seen = transform(both, generator) if transform else both  # the same view of image and photo
        acts = run(seen)
        target = objective({k: v[:1] for k, v in acts.items()}).mean()
        distance = (acts[layer][:1] - acts[layer][1:].detach()).pow(2).mean().add(1e-12).sqrt()  # RMS
        return target, distance

    with LayerHooks(model, [*objective.layers, layer]) as run:
        lam = 0.0
        if weight > 0:  # balance: |d target| = |d (lam * distance)| at the start
            target, distance = terms(run)
            g_t = torch.autograd.grad(target, params, retain_graph=True)[0].norm()
            g_d = torch.autograd.grad(distance, params)[0].norm()
            lam = weight * float(g_t / g_d.clamp_min(1e-12))
        for step in range(accent_steps(config)):
            optimizer.zero_grad(set_to_none=True)
            target, distance = terms(run)
            (-(target - lam * distance)).backward()
            optimizer.step()
            if on_step is not None:
                on_step(step, float(target.detach()))
        with torch.no_grad():
            image = image_fn().clamp(0.0, 1.0)
            acts = run(torch.cat([image, x0]))
    scores = {
        "target": float(objective({k: v[:1] for k, v in acts.items()})),
        "photo_target": float(objective({k: v[1:] for k, v in acts.items()})),
        "distance": float((acts[layer][:1] - acts[layer][1:]).pow(2).mean().sqrt()),
        "weight": lam,
    }
    return image, scores
