"""Feature visualisation through the engine: the same model cache, precision, run loop and records as a dream.

``visualize`` optimises one image per objective; ``grid`` and ``maps`` lay them out in sheets and
``accent`` grows an objective in a photo, each carrying its settings (schema 2, kinds ``grid``,
``maps`` and ``accent``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image

from dreamer.core.objectives import Objective, channel
from dreamer.core.tensors import to_pil, to_tensor
from dreamer.engine.events import CancelToken, OnEvent
from dreamer.engine.evidence import cell_size, gather
from dreamer.engine.plan import Plan, Planner
from dreamer.engine.records import sheet_record
from dreamer.featvis.accent import accent_steps, accentuate, default_accent_layer
from dreamer.featvis.alpha import on_checkerboard, rgba_sheet, to_image
from dreamer.featvis.cells import Cell, grid_cells
from dreamer.featvis.maps import map_pairs, pair_size, photo_activations, pick_channels
from dreamer.featvis.optimize import render_cells
from dreamer.outputs.imagelike import as_loaded
from dreamer.outputs.images import fit_max_side
from dreamer.outputs.sheets import labelled_grid, sheet_size
from dreamer.spec.atlas import JUDGES
from dreamer.spec.specs import VisSpec

Fits = Callable[[tuple[int, int]], None]  # told a sheet's size before any work; raises to refuse it

Layout = Any  # (images so far) -> preview image


def _run(
    plan: Plan,
    objectives: Sequence[Objective],
    on_event: OnEvent | None,
    cancel: CancelToken | None,
    preview_every: int,
    layout: Layout,
) -> list[Image.Image]:
    spec = plan.spec
    per_batch, steps = max(1, spec.batch // spec.diversity), spec.step_count
    batches = -(-len(objectives) // per_batch)
    with plan.loop("visualize", steps * batches, on_event, cancel, preview_every) as loop:

        def on_step(start: int, step: int, score: float, images: list[torch.Tensor]) -> None:
            preview = lambda: layout([to_image(im) for im in images])  # noqa: E731 - drawn only when due
            loop.step(start // per_batch, step, score, last=step == steps - 1, preview=preview)

        return render_cells(plan.model, objectives, spec, plan.generator(), on_step if loop.watched else None)


def visualize(
    engine: Planner,
    objectives: Sequence[Objective],
    spec: VisSpec,
    *,
    on_event: OnEvent | None = None,
    cancel: CancelToken | None = None,
    preview_every: int = 0,
) -> list[Image.Image]:
    """``spec.diversity`` images per objective, optimised from noise; each carries its settings (kind ``grid``).

    With ``spec.alpha`` the images are RGBA, alpha from the gradient importance.
    """
    started = time.perf_counter()
    plan = engine.plan(spec)
    images = _run(plan, objectives, on_event, cancel, preview_every, lambda ims: ims[-1])
    names = [o.name for o in objectives for _ in range(spec.diversity)]
    for im, name in zip(images, names, strict=True):
        im.info["dreamer"] = sheet_record(plan, "grid", started, cells=[name])
    return images


def grid(
    engine: Planner,
    spec: VisSpec,
    *,
    layer: str | None = None,
    channels: Sequence[int] | None = None,
    layers: Sequence[str] | None = None,
    classes: Sequence[str | int] | None = None,
    top: int | None = None,
    photo: Any = None,
    columns: int | None = None,
    on_event: OnEvent | None = None,
    cancel: CancelToken | None = None,
    preview_every: int = 0,
    fits: Fits | None = None,
    evidence: Any = None,
    judge: str | None = JUDGES[0],
) -> Image.Image:
    """A labelled sheet of visualisations: channels of a layer, one row per layer, or classes.

    ``fits`` gets the sheet's (width, height) before any cell is optimised: the CLI refuses one its format cannot hold.
    ``evidence`` (a photo folder) adds each cell's top exemplar patches under it and, for a class, ``judge``'s
    probability of it to the caption (``dreamer.engine.evidence``).
    """
    started = time.perf_counter()
    plan = engine.plan(spec)
    cells, row_columns = grid_cells(
        plan.model, layer=layer, channels=channels, layers=layers, classes=classes, top=top, photo=photo
    )
    if columns is None and (row_columns or spec.diversity > 1):
        columns = (row_columns or 1) * spec.diversity  # a cell's diverse images side by side
    labels = [c.label for c in cells for _ in range(spec.diversity)]
    if fits is not None:
        cell = (spec.size, spec.size)
        fits(sheet_size(len(labels), cell_size(cell) if evidence is not None else cell, columns))

    def layout(images: list[Image.Image]) -> Image.Image:
        return labelled_grid([on_checkerboard(im) for im in images], labels[: len(images)], columns)

    images = _run(plan, [c.objective for c in cells], on_event, cancel, preview_every, layout)
    out, about = layout(images), {}
    if evidence is not None:
        shown = [on_checkerboard(im) for im in images]
        found = gather(
            engine, plan, evidence, [c.objective for c in cells for _ in range(spec.diversity)], shown, judge
        )
        out, about = labelled_grid(*found.apply(shown, labels), columns), {"evidence": found.record(labels)}
    out.info["dreamer"] = sheet_record(plan, "grid", started, cells=[c.label for c in cells], **about)
    if spec.alpha:  # the same sheet with each cell's own transparency, to save beside the preview
        out.info["rgba"] = rgba_sheet(images, labels, columns)
    return out


def maps(
    engine: Planner,
    spec: VisSpec,
    photo: Any,
    layer: str,
    *,
    channels: Sequence[int] | None = None,
    top: int | None = None,
    columns: int | None = None,
    on_event: OnEvent | None = None,
    cancel: CancelToken | None = None,
    fits: Fits | None = None,
    evidence: Any = None,
) -> Image.Image:
    """Heat maps of the photo's activations at ``layer``, each beside its channel's picture; ``fits`` as grid's.

    ``evidence`` (a photo folder) adds each channel's top exemplar patches from it under its pair.
    """
    started = time.perf_counter()
    plan = engine.plan(spec.replace(diversity=1))  # one visualisation beside each map
    loaded = as_loaded(photo, "photo", seeable=True)
    act, rgb = photo_activations(plan.model, loaded, layer)
    picked = pick_channels(act, layer, channels, top)
    cells = [Cell(channel(layer, c), f"{layer}:{c}") for c in picked]
    columns = columns or (2 if len(picked) > 3 else len(picked))
    if fits is not None:
        pair = pair_size(rgb, spec.size)
        fits(sheet_size(len(picked), cell_size(pair) if evidence is not None else pair, columns))
    visuals = _run(plan, [c.objective for c in cells], on_event, cancel, 0, lambda ims: ims[-1])
    pairs = map_pairs(rgb, act, picked, visuals, spec.size)
    means = act.mean((1, 2))
    labels = [f"{layer}:{c}  mean {float(means[c]):.2f}" for c in picked]
    about = {}
    if evidence is not None:
        found = gather(engine, plan, evidence, [c.objective for c in cells], visuals, None)
        pairs, about = found.apply(pairs, labels)[0], {"evidence": found.record(labels)}
    out = labelled_grid(pairs, labels, columns)
    photo_name = loaded.path.name if loaded.path else None
    out.info["dreamer"] = sheet_record(plan, "maps", started, photo=photo_name, layer=layer, channels=picked, **about)
    return out


def accent(
    engine: Planner,
    photo: Any,
    objective: Objective,
    spec: VisSpec,
    *,
    on_event: OnEvent | None = None,
    cancel: CancelToken | None = None,
) -> Image.Image:
    """The photo (longer side ``spec.size``) with ``objective`` accentuated; settings in ``info["dreamer"]``.

    ``spec.accent_layer`` (default ``default_accent_layer``) and ``spec.accent_weight`` set the penalty;
    ``spec.steps`` and ``spec.lr`` default to ``ACCENT_STEPS`` and ``ACCENT_LR`` (``dreamer.featvis.accent``).
    """
    started = time.perf_counter()
    plan = engine.plan(spec)
    layer = plan.spec.accent_layer or default_accent_layer(plan.model)
    plan = dataclasses.replace(plan, spec=plan.spec.replace(accent_layer=layer))  # recorded as used
    for name in (layer, *objective.layers):
        plan.model.check_layer(name)
    loaded = as_loaded(photo, "photo", seeable=True)
    rgb = loaded.rgb.resize(fit_max_side(loaded.rgb.size, plan.spec.size), Image.Resampling.LANCZOS)
    with plan.loop("visualize", accent_steps(plan.spec), on_event, cancel) as loop:
        image, scores = accentuate(
            plan.model,
            to_tensor(rgb),
            objective,
            plan.spec,
            layer=layer,
            weight=plan.spec.accent_weight,
            generator=plan.generator(),
            on_step=lambda step, score: loop.step(0, step, score),
        )
    out = to_pil(image)
    out.info["dreamer"] = sheet_record(
        plan,
        "accent",
        started,
        objective=objective.name,
        photo=loaded.path.name if loaded.path else None,
        scores={k: round(v, 4) for k, v in scores.items()},
    )
    return out
