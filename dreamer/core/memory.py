"""Memory planning: estimate what a render needs before it starts, then tile (or refuse) to fit.

The estimate is measured, not guessed: one small forward pass records the bytes autograd saves
for the backward pass, per input pixel, for this model, layers and precision. How much memory
there is comes in as a number (``dreamer.engine.memory`` asks the machine): core reads no files.
"""

from __future__ import annotations

import torch

from dreamer.core.ascent import Run
from dreamer.core.objectives import Objective
from dreamer.errors import DreamerError

MIN_TILE = 128  # below this the network sees too little context to dream
BUDGET_FRACTION = 0.6  # leave room for the rest of the process and the system
IMAGE_BYTES_PER_PIXEL = 3 * 4 * 8  # fp32 RGB: image, base, detail, gradient, rolled copies, smoothing


def bytes_per_pixel(run: Run, objective: Objective, device: torch.device, side: int = 128) -> float:
    """Bytes autograd keeps per input pixel for one gradient of ``objective`` (measured at ``side`` px)."""
    seen: dict[tuple[int, int], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        seen[(t.untyped_storage().data_ptr(), t.numel())] = t.numel() * t.element_size()
        return t

    image = torch.rand(1, 3, side, side, device=device, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        score = objective(run(image)).sum()
    del score
    # The backward pass holds about as much again in gradients of those activations.
    return 2.0 * sum(seen.values()) / (side * side)


def plan_tile(h: int, w: int, tile: int, auto: int, per_pixel: float, budget: int) -> int:
    """The tile for an octave: ``tile`` if given, else ``auto``, shrunk until it fits ``budget``.

    Returns 0 for an untiled octave. Raises a one-line error when not even MIN_TILE tiles fit.
    """
    fixed = IMAGE_BYTES_PER_PIXEL * h * w
    chosen = tile or auto
    if not chosen and fixed + per_pixel * h * w <= budget:
        return 0
    chosen = chosen or max(h, w)
    while chosen > MIN_TILE and fixed + per_pixel * min(chosen, h) * min(chosen, w) > budget:
        chosen = max(MIN_TILE, chosen // 2)
    need = fixed + per_pixel * min(chosen, h) * min(chosen, w)
    if need > budget:
        side = int((budget / (IMAGE_BYTES_PER_PIXEL + per_pixel)) ** 0.5)
        raise DreamerError(
            f"not enough memory for a {w}x{h} render: about {need / 2**20:.0f} MB needed, "
            f"{budget / 2**20:.0f} MB usable; try `max_side` {max(side, 16)} or free some memory",
            field="max_side",
        )
    return chosen
