"""Image parametrisations for feature visualisation: leaves and one dispatcher (after lucent's ``param/``).

The leaves: ``color`` (the fixed decorrelation matrix and the sigmoid to RGB), ``spatial`` (Lucid's
Fourier image), ``pixel`` (plain pixels) and ``maco`` (a natural magnitude spectrum, optimised phase).
A spatial leaf returns ``(params, image_fn)``: the tensors the optimiser updates and a function of them
with unconstrained values. ``image`` looks the spec's parametrisation up in ``LEAVES`` and wraps it in
the colour leaf, so the loop sees RGB in [0, 1]. The knobs each one defaults to (steps, learning rate)
are ``dreamer.spec.specs.PARAM_DEFAULTS``, beside the other knobs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from dreamer.featvis.param.color import to_valid_rgb
from dreamer.featvis.param.maco import maco_image
from dreamer.featvis.param.pixel import pixel_image
from dreamer.featvis.param.spatial import Param, fourier_image
from dreamer.spec.specs import VisSpec


@dataclass(frozen=True)
class Leaf:
    """A parametrisation: how its image is built and how the loop optimises and views it."""

    build: Callable[..., Param]  # (batch, h, w, *, generator, device, **knobs) -> unconstrained (params, image_fn)
    optimizer: type[torch.optim.Optimizer]
    knobs: tuple[str, ...] = ()  # the VisSpec knobs ``build`` takes, by name
    crops: bool = False  # the network sees ``VisSpec.crops`` noisy random crops, not Lucid's transforms
    decorrelated: bool = False  # colours always decorrelated (its spectrum lives there), whatever VisSpec says


LEAVES: dict[str, Leaf] = {
    "maco": Leaf(maco_image, torch.optim.NAdam, knobs=("spectrum",), crops=True, decorrelated=True),
    "fourier": Leaf(fourier_image, torch.optim.Adam),
    "pixel": Leaf(pixel_image, torch.optim.Adam),
}


def image(
    batch: int, h: int, w: int, spec: VisSpec, *, generator: torch.Generator, device: torch.device | str = "cpu"
) -> Param:
    """``batch`` h x w images in the spec's parametrisation, wrapped to give RGB in [0, 1]."""
    leaf = LEAVES[spec.param]
    knobs = {name: getattr(spec, name) for name in leaf.knobs}
    params, image_fn = leaf.build(batch, h, w, generator=generator, device=device, **knobs)
    return params, to_valid_rgb(image_fn, spec.decorrelate or leaf.decorrelated)
