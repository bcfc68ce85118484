"""The one door to the models: ``get_spec``, ``list_models``, ``build`` and ``get_model``.

``get_model(DEFAULT_MODEL)`` gives the bundled offline EfficientNet-Lite0; any name registered in
``dreamer.nets.zoo`` works too (torchvision's classifiers with their default weights, downloaded
once into torch's cache), or a local ``weights`` file. Networks are built in fp32 on the CPU;
``DreamModel`` (or the engine, from that fp32 master copy) places and casts them.
"""

from __future__ import annotations

import difflib

import torch
from torch import nn

from dreamer.errors import DreamerError
from dreamer.nets.modelspec import ModelSpec
from dreamer.nets.precision import place
from dreamer.nets.weights import load_into, read_state_dict
from dreamer.nets.wrapper import DreamModel
from dreamer.nets.zoo import MODELS
from dreamer.spec.specs import DEFAULT_MODEL


def list_models() -> list[str]:
    """Every model name ``get_spec`` accepts: the ones registered on their own first, then torchvision's."""
    return MODELS.names()


def get_spec(name: str) -> ModelSpec:
    """The spec for a model name, or an error that suggests close names."""
    spec = MODELS.spec(name)
    if spec is None:
        close = difflib.get_close_matches(name, list_models(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; try {DEFAULT_MODEL}, googlenet, vgg16"
        raise DreamerError(f"`model`: unknown model {name!r}{hint}", field="model")
    return spec


def build(spec: ModelSpec, weights: str | None = None) -> nn.Module:
    """The network in fp32 on the CPU, frozen, in eval mode: its default weights or a ``weights`` file."""
    if weights:
        state = read_state_dict(weights)
        net = spec.architecture()
        try:
            load_into(net, state, spec.convert_keys)
        except DreamerError as exc:
            raise DreamerError(f"{weights}: {exc}", field="weights") from None
    else:
        net = spec.build()
    return net.float().eval().requires_grad_(False)


def get_model(
    name: str = DEFAULT_MODEL,
    weights: str | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
    fold_bn: bool = True,
) -> DreamModel:
    """Build and wrap a model once: frozen, eval mode, on the chosen device and precision (``auto``: a dream's)."""
    spec = get_spec(name)
    where = place(device, precision)  # fail before the (slow) build
    net = build(spec, weights)
    weights = str(weights) if weights else None  # a Path from the CLI: recorded as text
    return DreamModel(net, spec, where.device, weights=weights, precision=where.precision, fold_bn=fold_bn)
