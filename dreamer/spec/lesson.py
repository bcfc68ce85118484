"""Every knob of ``dreamer lesson``, declared once: the page's model, photo size and visualisations.

The dreams on the page take their look from ``DreamSpec``; this spec holds what the lesson itself
chooses. Its visualisations are a ``VisSpec`` made from it (``vis``).
"""

from __future__ import annotations

from dataclasses import dataclass

from dreamer.spec.schema import knob
from dreamer.spec.specs import Spec, VisSpec, max_side_knob, model_knob, seed_knob, weights_knob


@dataclass(frozen=True)
class LessonSpec(Spec):
    """The lesson page: which network explains itself, on how big a photo, with how many pictures per stage."""

    model: str = model_knob()
    weights: str | None = weights_knob()
    max_side: int = max_side_knob(512)
    top: int = knob(3, "Channels shown per stage.", lo=1, hi=8, group="look", quick=1)
    vis_size: int = knob(112, "Side of each visualisation in pixels.", lo=32, hi=2048, group="look", quick=32)
    vis_steps: int = knob(128, "Optimisation steps of each visualisation.", lo=1, hi=100_000, group="steps", quick=2)
    seed: int | None = seed_knob()

    def vis(self) -> VisSpec:
        """The page's visualisations: fourier in batches, as its gallery was made (maco is 4x the work a step)."""
        return VisSpec(
            model=self.model,
            weights=self.weights,
            size=self.vis_size,
            steps=self.vis_steps,
            batch=32,
            param="fourier",
            seed=self.seed,
        )
