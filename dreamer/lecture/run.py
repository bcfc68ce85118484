"""The lesson's two calls into the engine: one dream, one batch of visualisations."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from dreamer.core.objectives import Objective
from dreamer.engine.engine import Engine
from dreamer.spec.specs import DreamSpec, VisSpec


def dream(engine: Engine, photo: Image.Image, spec: DreamSpec) -> Image.Image:
    """The photo dreamed with ``spec``; its settings travel in ``.info["dreamer"]``."""
    return engine.dream(photo, spec)


def visualise(engine: Engine, objectives: Sequence[Objective], spec: VisSpec) -> list[Image.Image]:
    """One image per objective, optimised from noise together in batches of ``spec.batch``."""
    return engine.visualize(list(objectives), spec)
