"""Feature visualisation: optimise images from noise so chosen channels or classes fire.

noise parametrisation (``param``) -> random transforms (``transforms``) -> model with hooks
-> objective, one score per image -> Adam on the parameters. Cells are optimised together,
one image per cell, in batches of ``VisSpec.batch``. No printing: progress leaves as callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from PIL import Image

from dreamer.core.objectives import Objective, per_image
from dreamer.core.tensors import to_pil
from dreamer.featvis import param
from dreamer.featvis.transforms import standard_transforms
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.wrapper import DreamModel
from dreamer.spec.specs import VisSpec

StepCallback = Callable[[int, torch.Tensor, float], None]  # (step, current images (B, 3, H, W), mean score)
CellsCallback = Callable[[int, int, float, list[torch.Tensor]], None]  # (batch start, step, score, images so far)


def optimize(
    model: DreamModel,
    objective: Objective,
    batch: int,
    spec: VisSpec,
    generator: torch.Generator,
    on_step: StepCallback | None = None,
) -> torch.Tensor:
    """Adam on a noise parametrisation so that ``objective`` (one score per image) rises; (B, 3, S, S)."""
    params, image_fn = param.image(
        batch,
        spec.size,
        spec.size,
        param=spec.param,
        decorrelate=spec.decorrelate,
        generator=generator,
        device=model.device,
    )
    optimizer = torch.optim.Adam(params, lr=spec.lr)
    transform = standard_transforms() if spec.transforms else None
    with LayerHooks(model, objective.layers) as run:
        for step in range(spec.steps):
            optimizer.zero_grad(set_to_none=True)
            image = image_fn()  # (B, 3, S, S) in [0, 1]
            seen = transform(image, generator) if transform else image
            score = objective(run(seen))  # (B,)
            (-score.sum()).backward()  # Adam minimises; we maximise
            optimizer.step()
            if on_step is not None:
                on_step(step, image.detach(), float(score.detach().mean()))
    with torch.no_grad():
        return image_fn().clamp(0.0, 1.0)


def render_cells(
    model: DreamModel,
    objectives: Sequence[Objective],
    spec: VisSpec,
    generator: torch.Generator,
    on_step: CellsCallback | None = None,
) -> list[Image.Image]:
    """Optimise one image per objective, ``spec.batch`` at a time; returns the images in order."""
    done: list[torch.Tensor] = []
    for start in range(0, len(objectives), spec.batch):
        chunk = objectives[start : start + spec.batch]

        def step_cb(step: int, images: torch.Tensor, score: float, start: int = start) -> None:
            assert on_step is not None
            on_step(start, step, score, [*done, *images])

        images = optimize(model, per_image(chunk), len(chunk), spec, generator, step_cb if on_step else None)
        done.extend(images)
    return [to_pil(im) for im in done]
