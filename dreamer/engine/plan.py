"""A run's plan, resolved once by ``Engine.plan``: its placed model, its spec with the seed filled in, its loop.

Below the engine and beside it, so the engine's helpers (``visualize``, ``records``) take a ``Plan``, or a
``Planner`` that makes one, without importing the engine back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch

from dreamer.engine.events import CancelToken, OnEvent, Started
from dreamer.engine.runloop import RunLoop
from dreamer.nets.wrapper import DreamModel


@dataclass(frozen=True)
class Plan:
    """What a run resolved once: the model (on its device, at its precision), the seed and the spec."""

    model: DreamModel
    spec: Any  # DreamSpec or VisSpec, with the seed filled in
    seed: int

    def env(self) -> dict[str, str]:
        """Where the run ran, for the metadata (never replayed)."""
        return {"device": str(self.model.device), "precision": self.model.precision}

    def generator(self) -> torch.Generator:
        """A fresh CPU generator at the run's seed: where all of a run's randomness comes from."""
        return torch.Generator().manual_seed(self.seed)

    def loop(
        self, kind: str, total: int, on_event: OnEvent | None, cancel: CancelToken | None, preview_every: int = 0
    ) -> RunLoop:
        """The run's loop of ``total`` steps: its events, previews and cancellation (``dreamer.engine.runloop``)."""
        started = Started(kind, total, self.seed, str(self.model.device), self.model.precision)
        return RunLoop(started, on_event, cancel, preview_every)


class Planner(Protocol):
    """What plans runs: the ``Engine``."""

    def plan(self, spec: Any) -> Plan:
        """Resolve a spec's seed, device, precision and model once."""
        ...
