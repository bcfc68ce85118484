"""What a dream reads besides the photo: the objective its spec describes, its guide and its mask."""

from __future__ import annotations

import os

import torch
from PIL import Image, ImageFilter

from dreamer.core.objectives import Objective, guide, parse_specs
from dreamer.core.tensors import to_tensor
from dreamer.errors import DreamerError
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.wrapper import DreamModel
from dreamer.outputs.images import fit_max_side, load_image
from dreamer.spec.specs import DreamSpec

GUIDE_SIDE = 512  # the guide image's longer side when its features are computed (once per render)
MASK_FEATHER = 0.02  # soft mask edges: Gaussian radius as a fraction of the longer side


def with_model_defaults(spec: DreamSpec, model: DreamModel) -> DreamSpec:
    """The spec with the model's defaults filled in: the dream layer, or the guide's layer."""
    if spec.guide:  # a guide replaces the default layer objective; explicit layers add to it
        if not (spec.guide_layer or model.spec.dream_layers):
            raise DreamerError(f"`guide_layer`: {model.name} has no default dream layer; name one", field="guide_layer")
        return spec.replace(guide_layer=spec.guide_layer or model.spec.dream_layers[0])
    return spec.replace(layers=spec.layers or model.spec.dream_layers[:1])


def with_objective(spec: DreamSpec, objective: Objective | None) -> tuple[DreamSpec, Objective | None]:
    """(the spec, the objective left to pass): an objective that is data becomes the spec's layers.

    A sum of layer, channel, neuron and class terms replaces the spec's layers and guide, so the
    metadata records exactly what is optimised and ``--replay`` rebuilds it; an objective built from a
    Python function is passed on, and the spec records no layers for it.
    """
    if objective is None:
        return spec, None
    cleared = spec.replace(guide=None, guide_layer=None)
    if objective.terms is not None:
        return cleared.replace(layers=objective.terms), None
    return cleared.replace(layers=()), objective


def guide_objective(model: DreamModel, path: str, layer_name: str) -> Objective:
    """The guide objective: the guide image's features at ``layer_name``, computed once."""
    model.check_layer(layer_name)
    try:
        im = load_image(path).rgb
    except DreamerError as exc:
        raise DreamerError(str(exc), field="guide") from None
    size = fit_max_side(im.size, GUIDE_SIDE)
    im = im if size == im.size else im.resize(size, Image.Resampling.LANCZOS)
    with LayerHooks(model, [layer_name]) as run, torch.no_grad():
        features = run(to_tensor(im).to(model.device))[layer_name]
    return guide(layer_name, features[0])


def objective_for(spec: DreamSpec, model: DreamModel) -> Objective:
    """The objective a resolved spec describes: its layer specs, its guide, or both added."""
    if not spec.guide:
        objective = parse_specs(spec.layers)  # no layers at all is an error naming the layers
    else:
        assert spec.guide_layer is not None  # filled in by with_model_defaults
        objective = guide_objective(model, spec.guide, spec.guide_layer)
        if spec.layers:
            objective = parse_specs(spec.layers) + objective
    for name in objective.layers:
        model.check_layer(name)
    return objective


def load_mask(path: str | os.PathLike[str], size: tuple[int, int]) -> torch.Tensor:
    """A grayscale mask file -> (1, 1, H, W) weights in [0, 1] at ``size`` (h, w), edges feathered."""
    try:
        loaded = load_image(path)
    except DreamerError as exc:
        raise DreamerError(str(exc), field="mask") from None
    im = loaded.rgb.convert("L")
    if loaded.alpha is not None:  # transparent counts as dark
        im = Image.composite(im, Image.new("L", im.size, 0), loaded.alpha)
    h, w = size
    im = im.resize((w, h), Image.Resampling.BILINEAR)
    radius = MASK_FEATHER * max(h, w)
    if radius >= 0.5:
        im = im.filter(ImageFilter.GaussianBlur(radius))
    return to_tensor(im)[:, :1]
