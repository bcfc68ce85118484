"""Layer listings: every named module with its output shape, recommended layers marked."""

from __future__ import annotations

from typing import Any

import torch

from dreamer.nets.registry import get_model


def layer_shapes(
    model_name: str, weights: str | None = None, size: int = 224
) -> tuple[dict[str, tuple[int, ...]], Any]:
    """Run one forward pass at ``size`` and record each module's output shape (without batch)."""
    model = get_model(model_name, weights=weights, device="cpu")
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, module in model.net.named_modules():
        if not name:
            continue

        def hook(_m: Any, _i: Any, out: Any, name: str = name) -> None:
            out = out[0] if isinstance(out, (tuple, list)) else out
            if isinstance(out, torch.Tensor) and name not in shapes:
                shapes[name] = tuple(out.shape[1:])

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.net(model.prepare(torch.rand(1, 3, size, size)))
    finally:
        for h in handles:
            h.remove()
    return shapes, model


def layer_table(model_name: str, weights: str | None = None, size: int = 224, depth: int | None = 2) -> list[str]:
    """Printable lines: name, output shape, and a mark on recommended dream layers."""
    shapes, model = layer_shapes(model_name, weights, size)
    recommended = model.spec.dream_layers
    names = [n for n in shapes if depth is None or n.count(".") < depth or n in recommended]
    width = max(len(n) for n in names)
    lines = [f"{model.name} at {size}x{size}; * = recommended dream layer (first is the default)"]
    for name in names:
        shape = "x".join(map(str, shapes[name]))
        mark = " *" if name in recommended else ""
        default = " (default)" if recommended and name == recommended[0] else ""
        lines.append(f"{name:<{width}}  {shape}{mark}{default}")
    return lines
