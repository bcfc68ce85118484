"""The one layer lister: a model's named modules, and what each outputs for an input of a given size.

``list_layers`` feeds ``dreamer layers`` (``layer_table``), the studio's layer picker and the lesson's
anatomy and architecture figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from dreamer.nets.wrapper import LOGITS, DreamModel


@dataclass(frozen=True)
class Layer:
    """One addressable layer: its dotted name, its module and (when measured) its output shape without the batch."""

    name: str
    module: nn.Module
    shape: tuple[int, ...] | None = None


def list_layers(model: DreamModel, size: int | tuple[int, int] | None = None) -> list[Layer]:
    """The model's named modules, in definition order, or with ``size`` measured on one input.

    With ``size`` (a side, or height and width): the modules that output a tensor for one input of
    that size, in the order they ran, each with its output shape.
    """
    modules = [(n, model.module(n)) for n in model.layer_names() if n != LOGITS]
    if size is None:
        return [Layer(n, m) for n, m in modules]
    h, w = (size, size) if isinstance(size, int) else size
    ran: dict[str, Layer] = {}
    handles = []
    for name, module in modules:

        def hook(m: nn.Module, _i: Any, out: Any, name: str = name) -> None:
            out = out[0] if isinstance(out, (tuple, list)) else out
            if isinstance(out, torch.Tensor) and name not in ran:  # a module used twice: its first output
                ran[name] = Layer(name, m, tuple(out.shape[1:]))

        handles.append(module.register_forward_hook(hook))
    try:
        model.logits(torch.zeros(1, 3, h, w))
    finally:
        for handle in handles:
            handle.remove()
    return list(ran.values())


def layer_table(model: DreamModel, size: int = 224, depth: int | None = 2) -> list[str]:
    """Printable lines: name, output shape, and a mark on recommended dream layers."""
    shapes = {layer.name: layer.shape for layer in list_layers(model, size)}
    recommended = model.spec.dream_layers
    names = [n for n in shapes if depth is None or n.count(".") < depth or n in recommended]
    width = max(len(n) for n in names)
    lines = [f"{model.name} at {size}x{size}; * = recommended dream layer (first is the default)"]
    for name in names:
        shape = "x".join(map(str, shapes[name] or ()))
        mark = " *" if name in recommended else ""
        default = " (default)" if recommended and name == recommended[0] else ""
        lines.append(f"{name:<{width}}  {shape}{mark}{default}")
    return lines
