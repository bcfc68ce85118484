"""Feature visualisation: optimise images from noise so chosen channels or classes fire.

noise parametrisation (``param``) -> random transforms (``transforms``) -> model with hooks
-> objective, one score per image -> Adam on the parameters. Cells are optimised together,
``VisSpec.diversity`` images per cell, in batches of ``VisSpec.batch`` images. No printing: progress
leaves as callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from PIL import Image

from dreamer.core.objectives import Objective, per_image
from dreamer.featvis import param
from dreamer.featvis.transforms import crop_box, random_crops, standard_transforms
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.wrapper import DreamModel
from dreamer.spec.specs import VisSpec

StepCallback = Callable[[int, torch.Tensor, float], None]  # (step, current images (B, 3, H, W), mean score)
CellsCallback = Callable[[int, int, float, list[torch.Tensor]], None]  # (batch start, step, score, images so far)


def _views(spec: VisSpec) -> Callable[[torch.Tensor, torch.Generator, float], torch.Tensor]:
    """What the network sees of the canvas each step: MACO's noisy crops, Lucid's transforms, or the canvas."""
    if param.LEAVES[spec.param].crops:
        return lambda im, g, progress: random_crops(
            im, spec.crops, spec.size, crop_box(spec, progress), spec.crop_noise, g
        )
    transform = standard_transforms() if spec.transforms else None
    return lambda im, g, _progress: transform(im, g) if transform else im


def optimize(
    model: DreamModel,
    objective: Objective,
    batch: int,
    spec: VisSpec,
    generator: torch.Generator,
    on_step: StepCallback | None = None,
) -> torch.Tensor:
    """Optimise a noise parametrisation so that ``objective`` rises; (B, 3, S, S), or (B, 4, S, S) with alpha.

    The parametrisation's leaf (``param.LEAVES``) names the optimiser and the views: with ``maco`` the
    objective sees ``spec.crops`` crops per image (image-major), otherwise one transformed view. Alpha
    is the importance map: the accumulated |gradient| of the score with respect to the image
    (``dreamer.featvis.alpha.importance_alpha``).
    """
    params, image_fn = param.image(batch, spec.size, spec.size, spec, generator=generator, device=model.device)
    steps = spec.step_count
    optimizer = param.LEAVES[spec.param].optimizer(params, lr=spec.learning_rate)
    view = _views(spec)
    importance = torch.zeros(batch, 1, spec.size, spec.size, device=model.device)

    def accumulate(grad: torch.Tensor) -> None:
        importance.add_(grad.detach().abs().sum(1, keepdim=True))

    with LayerHooks(model, objective.layers) as run:
        for step in range(steps):
            optimizer.zero_grad(set_to_none=True)
            image = image_fn()  # (B, 3, S, S) in [0, 1]
            if spec.alpha and image.requires_grad:
                image.register_hook(accumulate)
            score = objective(run(view(image, generator, step / max(steps, 1))))  # (B * views,)
            score = score.view(batch, -1).mean(1)
            (-score.sum()).backward()  # the optimisers minimise; we maximise
            optimizer.step()
            if on_step is not None:
                on_step(step, image.detach(), float(score.detach().mean()))
    with torch.no_grad():
        final = image_fn().clamp(0.0, 1.0)
    if not spec.alpha:
        return final
    from dreamer.featvis.alpha import importance_alpha

    return torch.cat([final, importance_alpha(importance)], 1)


def batch_objective(objectives: Sequence[Objective], spec: VisSpec) -> Objective:
    """One objective for a batch: ``spec.diversity`` images per objective, minus the diversity penalty."""
    n = spec.diversity
    objective = per_image([o for o in objectives for _ in range(n)])
    if n == 1 or spec.diversity_weight == 0:
        return objective
    from dreamer.featvis.diversity import diversity

    views = spec.crops if param.LEAVES[spec.param].crops else 1
    layers = sorted({spec.diversity_layer or o.layers[0] for o in objectives})
    return objective - spec.diversity_weight * sum(diversity(name, n, views) for name in layers)


def render_cells(
    model: DreamModel,
    objectives: Sequence[Objective],
    spec: VisSpec,
    generator: torch.Generator,
    on_step: CellsCallback | None = None,
) -> list[Image.Image]:
    """``spec.diversity`` images per objective, ``spec.batch`` images at a time; in order, RGBA with alpha."""
    from dreamer.featvis.alpha import to_image

    done: list[torch.Tensor] = []
    per_batch = max(1, spec.batch // spec.diversity)
    for start in range(0, len(objectives), per_batch):
        chunk = objectives[start : start + per_batch]

        def step_cb(step: int, images: torch.Tensor, score: float, start: int = start) -> None:
            assert on_step is not None
            on_step(start, step, score, [*done, *images])

        objective = batch_objective(chunk, spec)
        images = optimize(model, objective, len(chunk) * spec.diversity, spec, generator, step_cb if on_step else None)
        done.extend(images)
    return [to_image(im) for im in done]
