"""The engine: owns the loaded models and runs a spec, reporting what happens as events.

spec -> plan (device, precision, seed and the memory plan, resolved once per run) -> core
(objective, octaves of ascent steps, blend) -> a PIL image carrying its settings (schema 2)
in ``.info["dreamer"]``. Every surface (CLI, notebook, studio, zoom, video, gallery workers)
keeps one ``Engine`` and calls it; none repeats this orchestration.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import torch
from PIL import Image
from torch import nn

from dreamer.core.blend import finish
from dreamer.core.memory import BUDGET_FRACTION, bytes_per_pixel, plan_tile
from dreamer.core.objectives import Objective
from dreamer.core.octaves import MIN_SIDE, auto_tile, dream_octaves, octave_sizes
from dreamer.core.tensors import resize, to_pil, to_tensor
from dreamer.engine import caricature, visualize
from dreamer.engine.events import CancelToken, OnEvent, Warned, emit
from dreamer.engine.inputs import load_mask, objective_for, with_model_defaults, with_objective
from dreamer.engine.memory import available_bytes
from dreamer.engine.plan import Plan
from dreamer.engine.records import dream_record
from dreamer.engine.seeds import seeded
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.modelspec import ModelSpec
from dreamer.nets.precision import Placement, place
from dreamer.nets.registry import build, get_spec
from dreamer.nets.wrapper import DreamModel
from dreamer.outputs.imagelike import ImageLike, as_loaded
from dreamer.outputs.images import fit_max_side
from dreamer.spec.specs import DEFAULT_MODEL, DreamSpec, RunEnv, VisSpec


def _finishes(spec: DreamSpec, mask: torch.Tensor | None) -> bool:
    return spec.keep_colors or spec.strength < 1.0 or mask is not None


def finished(
    dreamed: torch.Tensor, reference: torch.Tensor, spec: DreamSpec, mask: torch.Tensor | None
) -> torch.Tensor:
    """The finishing step of every dream: keep-colours, strength and the mask against ``reference`` (same size)."""
    if not _finishes(spec, mask):
        return dreamed
    return finish(dreamed, reference, keep_colors=spec.keep_colors, strength=spec.strength, mask=mask)


class Engine:
    """Keeps models loaded for its whole life and runs dreams and visualisations on them.

    Each model is built once, in fp32 on the CPU (the registry's master copy); every run gets a
    copy of it placed on the run's device at the run's precision, made once and kept.
    """

    def __init__(self, env: RunEnv | None = None, **env_knobs: Any) -> None:
        self.env = (env or RunEnv()).replace(**env_knobs)
        self.placement()  # a bad device or precision fails here, before any work
        self._masters: dict[tuple[str, str | None], tuple[ModelSpec, nn.Module]] = {}  # fp32, on the CPU
        self._models: dict[tuple[str, str | None, str, str], DreamModel] = {}  # + (device, precision)
        self._given: dict[tuple[str, str | None], dict[str, DreamModel]] = {}  # use()d models, by precision
        self._bytes_per_pixel: dict[tuple[int, tuple[str, ...]], float] = {}

    def placement(self, work: str = "dream") -> Placement:
        """The device and precision for a run of ``work`` (dream or visualize): the env resolved (``place``)."""
        return place(self.env.device, self.env.precision, work)

    @property
    def device(self) -> torch.device:
        """The device runs go to."""
        return self.placement().device

    @property
    def precision(self) -> str:
        """The dreams' precision (visualisations may use another: ``placement("visualize")``)."""
        return self.placement().precision

    def use(self, model: DreamModel, weights: str | None = None) -> None:
        """Register an already-loaded model (e.g. your own network) under its name; other precisions cast from it."""
        self._given.setdefault((model.name, weights), {})[model.precision] = model

    def model(self, name: str = DEFAULT_MODEL, weights: str | None = None, work: str = "dream") -> DreamModel:
        """The model for ``name`` and weights file, placed for a run of ``work``: made once, from the fp32 master."""
        where = self.placement(work)
        given = self._given.get((name, weights))
        if given is not None:  # cast from the fp32 one handed over (an error if there is none)
            if where.precision not in given:
                given[where.precision] = given.get("fp32", next(iter(given.values()))).with_precision(where.precision)
            return given[where.precision]
        key = (name, weights, str(where.device), where.precision)
        if key not in self._models:
            if (name, weights) not in self._masters:
                spec = get_spec(name)
                self._masters[(name, weights)] = (spec, build(spec, weights))
            spec, master = self._masters[(name, weights)]
            recorded = str(weights) if weights else None
            self._models[key] = DreamModel(copy.deepcopy(master), spec, where.device, recorded, where.precision)
        return self._models[key]

    def plan(self, spec: Any) -> Plan:
        """Resolve what a run needs once: its device, precision and model (for its kind of work) and its seed."""
        spec = seeded(spec)
        work = "visualize" if isinstance(spec, VisSpec) else "dream"
        return Plan(self.model(spec.model, spec.weights, work), spec, spec.seed)

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
        with plan.loop("dream", spec.steps * count, on_event, cancel, preview_every) as loop:

            def on_step(octave: int, step: int, current: torch.Tensor, score: float) -> None:
                if step == 0:
                    loop.octave(octave, count, (current.shape[-1], current.shape[-2]))
                loop.step(octave, step, score, last=step == spec.steps - 1, preview=lambda: to_pil(current))

            with LayerHooks(model, objective.layers) as run:
                tile_for = self._tile_planner(run, objective, model)
                warn = (lambda message: emit(on_event, Warned(message))) if on_event else None
                start = resize(image, work)
                out = dream_octaves(run, objective, start, spec, plan.generator(), on_step, tile_for, warn)
        return resize(out, (h, w)).clamp_(0.0, 1.0)

    def dream_frame(
        self,
        image: torch.Tensor,
        spec: DreamSpec,
        *,
        mask: torch.Tensor | None = None,
        on_event: OnEvent | None = None,
        cancel: CancelToken | None = None,
    ) -> torch.Tensor:
        """Dream one animation frame (1, 3, H, W) and finish it against the frame it started from (on the CPU)."""
        dreamed = self.dream_tensor(image, spec, on_event=on_event, cancel=cancel).cpu()
        return finished(dreamed, image.cpu(), spec, mask)

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
        """Dream a photo (path, PIL image, array or tensor: ``ImageLike``); knobs as a DreamSpec or keywords.

        ``objective`` (e.g. ``layer("blocks.4") - layer("blocks.2")``) replaces the one the spec's
        layers and guide describe; a sum of terms is recorded as the layers (so it replays), a
        function by its name only. ``provenance`` (e.g. the style name) is
        recorded in the metadata too.
        """
        named = objective
        spec, objective = with_objective((spec or DreamSpec()).replace(**knobs), objective)
        started = time.perf_counter()
        plan = self.plan(spec if objective is not None else self.resolved(spec))  # a function: no layers recorded
        spec = plan.spec
        loaded = as_loaded(image, "image")
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
        if _finishes(spec, mask):  # (else no round trip through a tensor)
            out = to_pil(finished(to_tensor(out), to_tensor(reference), spec, mask))
        about: dict[str, Any] = {"input": loaded.path.name if loaded.path else None, **(provenance or {})}
        if named is not None:
            about |= {"objective": named.name, "replayable": objective is None}
        out.info["dreamer"] = dream_record(plan, started, **about)
        if loaded.alpha is not None:
            out.info["dreamer_alpha"] = loaded.alpha
        return out

    def visualize(self, objectives: list[Objective], spec: VisSpec | None = None, **options: Any) -> list[Image.Image]:
        """Images optimised from noise, one per objective (see ``dreamer.engine.visualize.visualize``)."""
        return visualize.visualize(self, objectives, spec or VisSpec(), **options)

    def grid(self, spec: VisSpec | None = None, **options: Any) -> Image.Image:
        """A labelled sheet of channel or class visualisations (see ``dreamer.engine.visualize.grid``)."""
        return visualize.grid(self, spec or VisSpec(), **options)

    def accent(
        self, photo: ImageLike, objective: Objective, spec: VisSpec | None = None, **options: Any
    ) -> Image.Image:
        """The photo with ``objective`` accentuated in it (see ``dreamer.engine.visualize.accent``)."""
        return visualize.accent(self, photo, objective, spec or VisSpec(), **options)

    def caricature(self, photo: ImageLike, spec: VisSpec | None = None, **options: Any) -> Image.Image:
        """A caricature of the photo at ``spec.caricature_layers`` (see ``dreamer.engine.caricature.caricature``)."""
        return caricature.caricature(self, photo, spec or VisSpec(), **options)

    def maps(self, photo: ImageLike, layer: str, spec: VisSpec | None = None, **options: Any) -> Image.Image:
        """A photo's activation maps beside their channels' visualisations (``dreamer.engine.visualize.maps``)."""
        return visualize.maps(self, spec or VisSpec(), photo, layer, **options)
