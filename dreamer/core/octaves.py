"""The octave pyramid: dream small first, carry the added detail up to each larger scale."""

from __future__ import annotations

from collections.abc import Callable

import torch

from dreamer.core.ascent import Run, ascent_step
from dreamer.core.memory import MIN_TILE
from dreamer.core.objectives import Objective
from dreamer.core.tensors import resize
from dreamer.errors import DreamerError
from dreamer.spec.specs import DreamSpec

MIN_SIDE = 32  # the smallest octave the networks still see structure in
AUTO_TILE = 512  # tile size used automatically for large octaves
AUTO_TILE_PIXELS = 1024 * 1024  # octaves above this area are tiled: untiled lite0 needs about 1.7 GB per megapixel

StepCallback = Callable[[int, int, torch.Tensor, float], None]  # (octave, step, image, score)
WarnCallback = Callable[[str], None]


def octave_sizes(h: int, w: int, octaves: int, scale: float) -> list[tuple[int, int]]:
    """Sizes from smallest to full; octaves whose short side would be under MIN_SIDE are dropped (fewer come back)."""
    sizes = [(h, w)]
    for _ in range(octaves - 1):
        nh, nw = round(sizes[-1][0] / scale), round(sizes[-1][1] / scale)
        if min(nh, nw) < MIN_SIDE:
            break
        sizes.append((nh, nw))
    return sizes[::-1]


def auto_tile(h: int, w: int, tile: int) -> int:
    """The tile size for an octave: the explicit one, else AUTO_TILE above AUTO_TILE_PIXELS."""
    if tile:
        return tile
    return AUTO_TILE if h * w > AUTO_TILE_PIXELS else 0


def dream_octaves(
    run: Run,
    objective: Objective,
    image: torch.Tensor,
    spec: DreamSpec,
    generator: torch.Generator,
    on_step: StepCallback | None = None,
    tile_for: Callable[[int, int], int] | None = None,
    on_warning: WarnCallback | None = None,
) -> torch.Tensor:
    """Dream ``image`` (1, 3, H, W) in [0, 1] through the octave pyramid; returns the new image.

    ``tile_for(h, w)`` picks each octave's tile size (default: ``auto_tile``). On a CUDA
    out-of-memory error the step is retried once with tiles half the size, with a warning.
    """
    tile_for = tile_for or (lambda th, tw: auto_tile(th, tw, 0))
    h, w = image.shape[-2:]
    sizes = octave_sizes(h, w, spec.octaves, spec.octave_scale)
    detail = torch.zeros_like(resize(image, sizes[0]))
    dreamed = image
    retried = False
    for octave, size in enumerate(sizes):
        base = resize(image, size)
        # The detail dreamed at the previous scale, upsampled onto this scale's base.
        dreamed = (base + resize(detail, size)).clamp_(0.0, 1.0)
        tile = tile_for(*size)
        for step in range(spec.steps):
            kwargs = dict(
                step_size=spec.step_size,
                jitter=spec.jitter,
                generator=generator,
                normalize=spec.normalize,
                smooth=spec.smooth,
                progress=step / max(spec.steps - 1, 1),
            )
            while True:  # at most twice: a CUDA out-of-memory error retries once with smaller tiles
                try:
                    score = ascent_step(run, objective, dreamed, tile=tile, **kwargs)
                    break
                except torch.cuda.OutOfMemoryError:
                    if retried:
                        raise DreamerError(
                            f"out of GPU memory at {size[1]}x{size[0]} even with {tile} px tiles; "
                            "try a smaller `max_side` or `tile`, or `device` cpu",
                            refs=("max_side", "tile", "device"),
                        ) from None
                    retried = True
                    tile = max(MIN_TILE, (tile or max(size)) // 2)
                    if on_warning is not None:
                        on_warning(f"out of GPU memory at {size[1]}x{size[0]}; retrying with {tile} px tiles")
                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()
            if on_step is not None:
                on_step(octave, step, dreamed, score)
        detail = dreamed - base
    return dreamed
