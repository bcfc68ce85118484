"""Forward hooks that capture named activations and stop the forward pass early.

``with LayerHooks(model, ["blocks.4"]) as run: acts = run(image)`` registers hooks once,
runs the network only as far as the deepest requested layer, and always removes the hooks,
also when the render fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from dreamer.nets.wrapper import LOGITS, DreamModel


class _StopForward(Exception):
    """Raised by the last hook to fire, so nothing past the deepest target layer runs."""


class LayerHooks:
    """Capture the outputs of named layers; stop as soon as all of them have fired."""

    def __init__(self, model: DreamModel, layers: Iterable[str]) -> None:
        self.model = model
        self.layers = tuple(dict.fromkeys(layers))  # unique, in order
        for name in self.layers:
            model.check_layer(name)
        self._needs_logits = LOGITS in self.layers
        self._targets = [n for n in self.layers if n != LOGITS]
        self._acts: dict[str, torch.Tensor] = {}
        self._handles: list[Any] = []

    def __enter__(self) -> LayerHooks:
        for name in self._targets:
            self._handles.append(self.model.module(name).register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        """Detach every hook (safe to call twice)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, name: str) -> Any:
        def hook(_module: torch.nn.Module, _inputs: Any, output: Any) -> None:
            if name in self._acts:  # a module used twice: keep its first output
                return
            self._acts[name] = self.model.capture(name, output[0] if isinstance(output, (tuple, list)) else output)
            if not self._needs_logits and len(self._acts) == len(self._targets):
                raise _StopForward

        return hook

    def __call__(self, image: torch.Tensor, shift: tuple[int, int] = (0, 0)) -> dict[str, torch.Tensor]:
        """RGB [0, 1] image batch, rolled by ``shift`` -> {layer: activation}, computing no more than needed."""
        if not self._handles and self._targets:
            raise RuntimeError("LayerHooks must be used inside a `with` block")
        self._acts = {}
        try:
            out = self.model.net(self.model.prepare(image, shift))
        except _StopForward:
            pass
        else:
            if self._needs_logits:
                self._acts[LOGITS] = self.model.capture(LOGITS, out)
        acts, self._acts = self._acts, {}
        missing = [n for n in self.layers if n not in acts]
        if missing:
            raise RuntimeError(f"layers {missing} did not run in the forward pass")
        return acts
