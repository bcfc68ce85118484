"""The lesson's two calls into the renderers: one dream, one batch of visualisations.

Kept in one place so that moving to another render API is an edit of these two functions.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from dreamer.core.objectives import Objective
from dreamer.engine.engine import Dreamer
from dreamer.featvis.optimize import Cell, render_cells
from dreamer.nets.registry import DreamModel
from dreamer.spec.config import DreamConfig, VisConfig


def dream(dreamer: Dreamer, photo: Image.Image, config: DreamConfig) -> Image.Image:
    """The photo dreamed with ``config`` (quietly); the settings travel in ``.info["dreamer"]``."""
    return dreamer.dream(photo, config, progress=False)


def visualise(model: DreamModel, objectives: Sequence[Objective], config: VisConfig) -> list[Image.Image]:
    """One image per objective, optimised from noise together in batches of ``config.batch``."""
    return render_cells(model, [Cell(o, o.name) for o in objectives], config, progress=False)
