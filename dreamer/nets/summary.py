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


@dataclass(frozen=True)
class LayerRow:
    """One line of a model's layer table: name, output shape, and whether dreams recommend or default to it."""

    name: str
    shape: tuple[int, ...]
    recommended: bool = False
    default: bool = False

    def line(self, width: int) -> str:
        """The row as ``dreamer layers`` prints it."""
        shape = "x".join(map(str, self.shape))
        return f"{self.name:<{width}}  {shape}{' *' if self.recommended else ''}{' (default)' if self.default else ''}"


@dataclass(frozen=True)
class LayerTable:
    """A model's layers with their shapes at one input size; prints as ``dreamer layers`` does."""

    model: str
    size: int
    rows: tuple[LayerRow, ...]

    def __iter__(self) -> Any:
        """The rows, in the order the layers ran."""
        return iter(self.rows)

    def lines(self) -> list[str]:
        """A header saying what the marks mean, then one line per layer."""
        width = max((len(r.name) for r in self.rows), default=0)
        head = (
            f"{self.model} at {self.size}x{self.size}: name, output shape (channels x height x width); "
            "* = recommended for dreams, (default) = what -l / layers= uses when not given"
        )
        return [head, *(r.line(width) for r in self.rows)]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    __repr__ = __str__  # a notebook shows the table


def layer_table(model: DreamModel, size: int = 224, depth: int | None = 2) -> LayerTable:
    """The layers down to ``depth`` name levels (all with None), recommended ones always, with their shapes."""
    shapes = {layer.name: layer.shape for layer in list_layers(model, size)}
    recommended = model.spec.dream_layers
    names = [n for n in shapes if depth is None or n.count(".") < depth or n in recommended]
    default = model.spec.dream_layer
    rows = tuple(LayerRow(n, shapes[n] or (), n in recommended, n == default) for n in names)
    return LayerTable(model.name, size, rows)
