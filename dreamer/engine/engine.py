"""The engine: owns the loaded models and runs a spec, reporting what happens as events.

spec -> plan (device, precision, seed and the memory plan, resolved once per run) -> core
(objective, octaves of ascent steps, blend) -> a PIL image carrying its settings (schema 2)
in ``.info["dreamer"]``. Every surface (CLI, notebook, studio, zoom, video, gallery workers)
keeps one ``Engine`` and calls it; none repeats this orchestration.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from dreamer.core.blend import finish
from dreamer.core.memory import BUDGET_FRACTION, bytes_per_pixel, plan_tile
from dreamer.core.objectives import Objective
from dreamer.core.octaves import MIN_SIDE, auto_tile, dream_octaves, octave_sizes
from dreamer.core.tensors import resize, to_pil, to_tensor
from dreamer.engine import visualize
from dreamer.engine.events import CancelToken, Finished, Octave, OnEvent, Started, Step, Warned, emit
from dreamer.engine.inputs import load_mask, objective_for, with_model_defaults
from dreamer.engine.memory import available_bytes
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.precision import resolve_device, resolve_precision
from dreamer.nets.registry import get_model
from dreamer.nets.wrapper import DreamModel
from dreamer.outputs.images import LoadedImage, as_loaded, fit_max_side
from dreamer.outputs.metadata import document
from dreamer.spec.schema import Kind, to_dict
from dreamer.spec.specs import DreamSpec, RunEnv, VisSpec

ImageLike = str | os.PathLike[str] | Image.Image | torch.Tensor | LoadedImage
LOOK_AND_FILES = (Kind.LOOK, Kind.FILE)


@dataclass(frozen=True)
class Plan:
    """What a run resolved once: the model (on its device, at its precision), the seed and the spec."""

    model: DreamModel
    spec: Any  # DreamSpec or VisSpec, with the seed filled in
    seed: int

    def env(self) -> dict[str, str]:
        """Where the run ran, for the metadata (never replayed)."""
        return {"device": str(self.model.device), "precision": self.model.precision}


class Engine:
    """Keeps models loaded for its whole life and runs dreams and visualisations on them."""

    def __init__(self, env: RunEnv | None = None, **env_knobs: Any) -> None:
        self.env = (env or RunEnv()).replace(**env_knobs)
        self.device = resolve_device(self.env.device)
        self.precision = resolve_precision(self.env.precision, self.device)  # for dreams
        self.vis_precision = resolve_precision(self.env.precision, self.device, "visualize")
        self._models: dict[tuple[str, str | None, str], DreamModel] = {}
        self._bytes_per_pixel: dict[tuple[int, tuple[str, ...]], float] = {}

    def use(self, model: DreamModel, weights: str | None = None) -> None:
        """Register an already-loaded model (e.g. your own network) under its name and precision."""
        self._models[(model.name, weights, model.precision)] = model

    def model(self, name: str = "lite0", weights: str | None = None, precision: str | None = None) -> DreamModel:
        """The loaded model for ``name`` and weights file at a precision (default: the dreams'), loaded once."""
        precision = precision or self.precision
        key = (name, weights, precision)
        if key not in self._models:
            same = [m for (n, w, _), m in self._models.items() if (n, w) == (name, weights)]
            if same:  # the same network registered at another precision: cast a copy once
                self._models[key] = same[0].with_precision(precision)
            else:
                self._models[key] = get_model(name, weights=weights, device=self.device, precision=precision)
        return self._models[key]

    def plan(self, spec: Any) -> Plan:
        """Resolve what a run needs once: its model (at its work's precision) and its seed (drawn if not given)."""
        seed = spec.seed if spec.seed is not None else secrets.randbits(63)
        precision = self.vis_precision if isinstance(spec, VisSpec) else self.precision
        return Plan(self.model(spec.model, spec.weights, precision), spec.replace(seed=seed), seed)

    def resolved(self, spec: DreamSpec) -> DreamSpec:
        """The spec with the model's defaults filled in (layers, guide layer), as the metadata records it."""
        return with_model_defaults(spec, self.model(spec.model, spec.weights))

    def _tile_planner(self, run: LayerHooks, objective: Objective, model: DreamModel) -> Any:
        """Each octave's tile size: the env's, or automatic, shrunk to fit the memory budget (measured once)."""
        key = (id(model), objective.layers)
        if key not in self._bytes_per_pixel:
            self._bytes_per_pixel[key] = bytes_per_pixel(run, objective, model.device)
        per_pixel = self._bytes_per_pixel[key]
        budget = int(BUDGET_FRACTION * available_bytes(model.device))
        return lambda h, w: plan_tile(h, w, self.env.tile, auto_tile(h, w, 0), per_pixel, budget)

    def dream_tensor(
        self,
        image: torch.Tensor,
        spec: DreamSpec,
        *,
        objective: Objective | None = None,
        on_event: OnEvent | None = None,
        cancel: CancelToken | None = None,
        preview_every: int = 0,
    ) -> torch.Tensor:
        """Dream an RGB [0, 1] tensor (1, 3, H, W) at its own size: the dream alone, with no blending."""
        started = time.perf_counter()
        plan = self.plan(self.resolved(spec))
        model, spec = plan.model, plan.spec
        objective = objective or objective_for(spec, model)
        image = image.to(model.device, torch.float32).clone()
        h, w = image.shape[-2:]
        work = (max(h, MIN_SIDE), max(w, MIN_SIDE))  # tiny or thin inputs: stretched to what the network sees
        if work != (h, w):
            emit(on_event, Warned(f"image is only {w}x{h}; dreaming at {work[1]}x{work[0]}"))
        count = len(octave_sizes(*work, spec.octaves, spec.octave_scale))
        if count < spec.octaves:
            emit(
                on_event,
                Warned(f"image is too small for {spec.octaves} octaves at scale {spec.octave_scale:g}; using {count}"),
            )
        total = spec.steps * count
        emit(on_event, Started("dream", total, plan.seed, str(model.device), model.precision))
        done = 0

        def on_step(octave: int, step: int, current: torch.Tensor, score: float) -> None:
            nonlocal done
            if step == 0:
                emit(on_event, Octave(octave, count, (current.shape[-1], current.shape[-2])))
            done += 1
            wanted = preview_every and (done % preview_every == 0 or step == spec.steps - 1)
            emit(on_event, Step(done, total, octave, step, score, to_pil(current) if wanted else None))
            if cancel is not None:
                cancel.check()

        if cancel is not None:
            cancel.check()
        generator = torch.Generator().manual_seed(plan.seed)
        with LayerHooks(model, objective.layers) as run:
            tile_for = self._tile_planner(run, objective, model)
            warn = (lambda message: emit(on_event, Warned(message))) if on_event else None
            out = dream_octaves(run, objective, resize(image, work), spec, generator, on_step, tile_for, warn)
        emit(on_event, Finished(time.perf_counter() - started))
        return resize(out, (h, w)).clamp_(0.0, 1.0)

    def dream(
        self,
        image: ImageLike,
        spec: DreamSpec | None = None,
        *,
        objective: Objective | None = None,
        on_event: OnEvent | None = None,
        cancel: CancelToken | None = None,
        preview_every: int = 0,
        provenance: dict[str, Any] | None = None,
        **knobs: Any,
    ) -> Image.Image:
        """Dream a photo (path, PIL image or tensor); knobs as a DreamSpec or keywords.

        ``objective`` (e.g. ``layer("blocks.4") - layer("blocks.2")``) replaces the one the spec's
        layers and guide describe; its name is recorded. ``provenance`` (e.g. the style name) is
        recorded in the metadata too.
        """
        spec = (spec or DreamSpec()).replace(**knobs)
        started = time.perf_counter()
        plan = self.plan(self.resolved(spec))
        spec = plan.spec
        loaded = as_loaded(image)
        src = loaded.rgb
        work_size = fit_max_side(src.size, spec.max_side)
        work = src if work_size == src.size else src.resize(work_size, Image.Resampling.LANCZOS)
        # The original at the output size: what keep-colours, strength and the mask blend with.
        reference = src if spec.resize_back else work
        mask = load_mask(spec.mask, (reference.height, reference.width)) if spec.mask else None
        dreamed = self.dream_tensor(
            to_tensor(work), spec, objective=objective, on_event=on_event, cancel=cancel, preview_every=preview_every
        )
        out = to_pil(dreamed)
        if out.size != reference.size:
            out = out.resize(reference.size, Image.Resampling.LANCZOS)
        if spec.keep_colors or spec.strength < 1.0 or mask is not None:
            blended = finish(
                to_tensor(out), to_tensor(reference), keep_colors=spec.keep_colors, strength=spec.strength, mask=mask
            )
            out = to_pil(blended)
        about: dict[str, Any] = {
            "input": loaded.path.name if loaded.path else None,
            "weights_name": plan.model.weights,
            "seconds": round(time.perf_counter() - started, 2),
            **(provenance or {}),
        }
        if objective is not None:
            about["objective"] = objective.name
        out.info["dreamer"] = document("dream", to_dict(spec, LOOK_AND_FILES), plan.env(), **about)
        if loaded.alpha is not None:
            out.info["dreamer_alpha"] = loaded.alpha
        return out

    def visualize(self, objectives: list[Objective], spec: VisSpec | None = None, **options: Any) -> list[Image.Image]:
        """Images optimised from noise, one per objective (see ``dreamer.engine.visualize.visualize``)."""
        return visualize.visualize(self, objectives, spec or VisSpec(), **options)

    def grid(self, spec: VisSpec | None = None, **options: Any) -> Image.Image:
        """A labelled sheet of channel or class visualisations (see ``dreamer.engine.visualize.grid``)."""
        return visualize.grid(self, spec or VisSpec(), **options)

    def maps(self, photo: ImageLike, layer: str, spec: VisSpec | None = None, **options: Any) -> Image.Image:
        """A photo's activation maps beside their channels' visualisations (``dreamer.engine.visualize.maps``)."""
        return visualize.maps(self, spec or VisSpec(), photo, layer, **options)
