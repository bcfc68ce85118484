"""Caricatures through the engine: the same plan, run loop (events, previews, cancellation) and records as a grid.

``caricature`` optimises one image from noise whose activations at ``spec.caricature_layers`` match the
photo's, amplified (``dreamer.featvis.caricature``); the PNG records kind ``caricature`` with the layers
used, the photo's name and the scores at the end.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from PIL import Image

from dreamer.core.tensors import to_pil, to_tensor
from dreamer.engine.events import CancelToken, OnEvent
from dreamer.engine.plan import Planner
from dreamer.engine.records import sheet_record
from dreamer.errors import DreamerError
from dreamer.featvis.caricature import caricaturize, parse_layers
from dreamer.outputs.imagelike import as_loaded
from dreamer.outputs.images import fit_max_side
from dreamer.spec.specs import VisSpec


def caricature(
    engine: Planner,
    photo: Any,
    spec: VisSpec,
    *,
    on_event: OnEvent | None = None,
    cancel: CancelToken | None = None,
    preview_every: int = 0,
) -> Image.Image:
    """A caricature of the photo (longer side ``spec.size``); settings and scores in ``info["dreamer"]``.

    No ``spec.caricature_layers``: the model's dream layer (recorded as used).
    """
    started = time.perf_counter()
    plan = engine.plan(spec)
    given = plan.spec.caricature_layers or tuple(plan.model.spec.dream_layers[:1])
    if not given:
        raise DreamerError(f"model {plan.model.name} recommends no layer: give one", field="caricature_layers")
    layers = parse_layers(given)
    for name, _ in layers:
        plan.model.check_layer(name)
    plan = dataclasses.replace(plan, spec=plan.spec.replace(caricature_layers=tuple(given)))
    loaded = as_loaded(photo, "photo", seeable=True)
    rgb = loaded.rgb.resize(fit_max_side(loaded.rgb.size, plan.spec.size), Image.Resampling.LANCZOS)
    steps = plan.spec.step_count
    with plan.loop("visualize", steps, on_event, cancel, preview_every) as loop:

        def on_step(step: int, image: Any, score: float) -> None:
            loop.step(0, step, score, last=step == steps - 1, preview=lambda: to_pil(image.clamp(0, 1)))

        image, scores = caricaturize(
            plan.model,
            to_tensor(rgb),
            layers,
            plan.spec,
            power=plan.spec.caricature_power,
            generator=plan.generator(),
            on_step=on_step if loop.watched else None,
        )
    out = to_pil(image)
    out.info["dreamer"] = sheet_record(
        plan,
        "caricature",
        started,
        photo=loaded.path.name if loaded.path else None,
        scores={k: round(v, 4) for k, v in scores.items()},
    )
    return out
