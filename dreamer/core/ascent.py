"""One gradient-ascent step on the image: roll, gradient (by tiles if large), shape, normalise, step.

The image is the only thing with a gradient; it is updated and clamped in place. The roll
(jitter) of a whole image happens in the model's input pass (``DreamModel.prepare``), which
hands the gradient back unrolled. Large images are done in tiles: the whole image is rolled
by a random shift, each tile's gradient is computed on its own, the roll is undone and the
gradient is shaped and normalised once for the whole image, so tile borders land somewhere
new every step and leave no seams.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from dreamer.core.objectives import Acts, Objective
from dreamer.core.smoothing import smooth_gradient
from dreamer.errors import DreamerError

Run = Callable[..., Acts]  # (image batch in [0, 1], roll shift) -> activations: a LayerHooks


def tile_boxes(h: int, w: int, tile: int) -> list[tuple[int, int, int, int]]:
    """Split (h, w) into equal tiles no larger than ``tile`` that cover every pixel once."""
    ny, nx = math.ceil(h / tile), math.ceil(w / tile)
    ys = [round(i * h / ny) for i in range(ny + 1)]
    xs = [round(j * w / nx) for j in range(nx + 1)]
    return [(ys[i], ys[i + 1], xs[j], xs[j + 1]) for i in range(ny) for j in range(nx)]


def is_tiled(h: int, w: int, tile: int) -> bool:
    """Whether an (h, w) image is split into tiles of side ``tile`` (0 = never)."""
    return bool(tile) and (h > tile or w > tile)


def _gradient(
    run: Run, objective: Objective, image: torch.Tensor, shift: tuple[int, int]
) -> tuple[torch.Tensor, float]:
    """d(objective)/d(image) for the image rolled by ``shift`` (the model's input pass rolls and unrolls)."""
    part = image.detach().requires_grad_(True)
    score = objective(run(part, shift)).sum()
    (grad,) = torch.autograd.grad(score, part)
    return grad, float(score.detach())


def image_gradient(
    run: Run, objective: Objective, image: torch.Tensor, tile: int = 0, shift: tuple[int, int] = (0, 0)
) -> tuple[torch.Tensor, float]:
    """d(objective)/d(image) rolled by ``shift``, computed whole or tile by tile; returns (gradient, mean score)."""
    h, w = image.shape[-2:]
    if not is_tiled(h, w, tile):
        return _gradient(run, objective, image, shift)
    rolled = image.roll(shift, dims=(2, 3))
    grad = torch.empty_like(image)
    boxes = tile_boxes(h, w, tile)
    total = 0.0
    for y0, y1, x0, x1 in boxes:
        grad[..., y0:y1, x0:x1], score = _gradient(run, objective, rolled[..., y0:y1, x0:x1], (0, 0))
        total += score
    return grad.roll((-shift[0], -shift[1]), dims=(2, 3)), total / len(boxes)


def normalize_gradient(grad: torch.Tensor, how: str = "mean") -> torch.Tensor:
    """Scale the gradient so step size means the same at every octave and layer."""
    scale = grad.abs().mean() if how == "mean" else grad.std()
    if not bool(torch.isfinite(scale)):  # one NaN or inf anywhere makes the scale non-finite
        raise DreamerError(
            "the gradient became NaN or infinite, so the image would be ruined; "
            "try a smaller `step_size`, smaller layer weights or `precision` fp32",
            refs=("step_size", "precision"),
        )
    return grad / scale.clamp_min(1e-30)  # a zero gradient stays zero


def ascent_step(
    run: Run,
    objective: Objective,
    image: torch.Tensor,
    *,
    step_size: float,
    jitter: int,
    generator: torch.Generator,
    normalize: str = "mean",
    tile: int = 0,
    smooth: str = "none",
    progress: float = 0.0,
) -> float:
    """Move ``image`` (B, 3, H, W) in place up the objective's gradient; returns the score.

    ``progress`` (0 to 1) is the step's place in its octave; the Gaussian smoothing ramps with it.
    """
    h, w = image.shape[-2:]
    if is_tiled(h, w, tile):
        # Roll anywhere over the whole image, so tile borders never sit in the same place twice.
        dy = int(torch.randint(0, h, (1,), generator=generator))
        dx = int(torch.randint(0, w, (1,), generator=generator))
    elif jitter:
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
    else:
        dy = dx = 0
    grad, score = image_gradient(run, objective, image, tile, (dy, dx))
    grad = smooth_gradient(grad, smooth, progress)
    grad = normalize_gradient(grad, normalize)
    image.add_(grad, alpha=step_size).clamp_(0.0, 1.0)
    return score
