"""The public render API: ``Dreamer`` keeps models loaded; ``dream`` is the one-call form.

image -> model (normalisation, hooks, early stop) -> objective -> ascent steps inside the
octave loop -> PIL image carrying its parameters in ``.info["dreamer"]``.
"""

from __future__ import annotations

import os
import secrets
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from dreamer import __version__
from dreamer.core.blend import finish, load_mask
from dreamer.core.memory import BUDGET_FRACTION, available_bytes, bytes_per_pixel, plan_tile
from dreamer.core.objectives import Objective, guide, parse_specs
from dreamer.core.octaves import MIN_SIDE, auto_tile, dream_octaves
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.precision import resolve_precision
from dreamer.nets.registry import DreamModel, get_model, resolve_device
from dreamer.outputs.images import (
    LoadedImage,
    as_loaded,
    fit_max_side,
    load_image,
    resize,
    save_image,
    to_pil,
    to_tensor,
)
from dreamer.spec.config import DreamConfig

GUIDE_SIDE = 512  # the guide image's longer side when its features are computed (once per render)

ImageLike = str | os.PathLike[str] | Image.Image | torch.Tensor | LoadedImage
Callback = Callable[[int, int, Image.Image], None]  # (octave, step, current image)


class Dreamer:
    """Holds loaded models so repeated renders (notebooks, galleries, zooms) never reload."""

    def __init__(self, device: str | torch.device = "auto") -> None:
        self.device = device
        self._models: dict[tuple[str, str | None, str], DreamModel] = {}

    def use(self, model: DreamModel, weights: str | None = None) -> None:
        """Register an already-loaded model (e.g. your own network) under its name."""
        self._models[(model.name, weights, model.precision)] = model

    def model(self, name: str = "lite0", weights: str | None = None, precision: str = "auto") -> DreamModel:
        """The loaded model for ``name``, weights file and precision, loading or casting it on first use."""
        precision = resolve_precision(precision, resolve_device(self.device))
        key = (name, weights, precision)
        if key not in self._models:
            loaded = [m for (n, w, _), m in self._models.items() if (n, w) == (name, weights)]
            if loaded:  # the same network at another precision: cast a copy once
                self._models[key] = loaded[0].with_precision(precision)
            else:
                self._models[key] = get_model(name, weights=weights, device=self.device, precision=precision)
        return self._models[key]

    def resolved(self, config: DreamConfig) -> DreamConfig:
        """The config with the model's defaults filled in: layer specs and the guide layer."""
        model = self.model(config.model, config.weights, config.precision)
        if config.guide:  # a guide replaces the default layer objective; explicit layers add to it
            if not (config.guide_layer or model.spec.dream_layers):
                raise DreamerError(f"--guide-layer: {model.name} has no default dream layer; name one")
            return config.replace(guide_layer=config.guide_layer or model.spec.dream_layers[0])
        return config.replace(layers=config.layers or model.spec.dream_layers[:1])

    def guide_objective(self, model: DreamModel, path: str, layer_name: str) -> Objective:
        """The guide objective: the guide image's features at ``layer_name``, computed once."""
        model.check_layer(layer_name)
        try:
            im = load_image(path).rgb
        except DreamerError as exc:
            raise DreamerError(f"--guide {exc}") from None
        size = fit_max_side(im.size, GUIDE_SIDE)
        im = im if size == im.size else im.resize(size, Image.Resampling.LANCZOS)
        with LayerHooks(model, [layer_name]) as run, torch.no_grad():
            features = run(to_tensor(im).to(model.device))[layer_name]
        return guide(layer_name, features[0])

    def objective(self, config: DreamConfig) -> tuple[DreamModel, Objective, tuple[str, ...]]:
        """The model, the objective and the resolved layer specs for a config."""
        model = self.model(config.model, config.weights, config.precision)
        config = self.resolved(config)
        if not config.guide:
            objective = parse_specs(config.layers)  # no layers at all is an error naming --layer
        else:
            objective = self.guide_objective(model, config.guide, config.guide_layer)
            if config.layers:
                objective = parse_specs(config.layers) + objective
        for name in objective.layers:
            model.check_layer(name)
        return model, objective, config.layers

    def dream_tensor(
        self,
        image: torch.Tensor,
        config: DreamConfig,
        *,
        objective: Objective | None = None,
        progress: bool = True,
        callback: Callback | None = None,
    ) -> torch.Tensor:
        """Dream an RGB [0, 1] tensor (1, 3, H, W) at its own size; returns a new tensor.

        This is the dream alone: ``dream`` applies keep-colours, strength and the mask afterwards.
        """
        if objective is None:
            model, objective, _ = self.objective(config)
        else:
            model = self.model(config.model, config.weights, config.precision)
        seed = config.seed if config.seed is not None else secrets.randbits(63)
        generator = torch.Generator().manual_seed(seed)
        image = image.to(model.device, torch.float32).clone()
        h, w = image.shape[-2:]
        # Tiny or thin inputs are stretched to the smallest size the network can see.
        work = (max(h, MIN_SIDE), max(w, MIN_SIDE))
        if work != (h, w):
            warnings.warn(f"image is only {w}x{h}; dreaming at {work[1]}x{work[0]}", DreamerWarning, stacklevel=2)
        total = config.steps * config.octaves
        from tqdm.auto import tqdm

        with (
            LayerHooks(model, objective.layers) as run,
            tqdm(total=total, disable=not progress, desc="dreaming", leave=False) as bar,
        ):

            def on_step(octave: int, step: int, current: torch.Tensor, score: float) -> None:
                bar.update(1)
                bar.set_postfix(octave=octave + 1, score=f"{score:.3g}")
                if callback is not None:
                    callback(octave, step, to_pil(current))

            # Measure what a pixel costs for this model, layers and precision, then fit each octave.
            per_pixel = bytes_per_pixel(run, objective, model.device)
            budget = int(BUDGET_FRACTION * available_bytes(model.device))

            def tile_for(th: int, tw: int) -> int:
                return plan_tile(th, tw, config.tile, auto_tile(th, tw, 0), per_pixel, budget)

            out = dream_octaves(run, objective, resize(image, work), config, generator, on_step, tile_for)
        return resize(out, (h, w)).clamp_(0.0, 1.0)

    def dream(
        self,
        image: ImageLike,
        config: DreamConfig | None = None,
        *,
        objective: Objective | None = None,
        progress: bool = True,
        callback: Callback | None = None,
        metadata: dict[str, Any] | None = None,
        **options: Any,
    ) -> Image.Image:
        """Dream a photo (path, PIL image or tensor); knobs as a DreamConfig or keywords.

        ``objective`` (e.g. ``layer("blocks.4") - layer("blocks.2")``) replaces the one the config's
        layers and guide describe; its name is recorded in the metadata. ``metadata`` adds
        provenance (e.g. the style name) to what the PNG records.
        """
        config = (config or DreamConfig()).replace(**options)
        if config.seed is None:
            config = config.replace(seed=secrets.randbits(63))
        started = time.perf_counter()
        loaded = as_loaded(image)
        src = loaded.rgb
        work_w, work_h = fit_max_side(src.size, config.max_side)
        work = src if (work_w, work_h) == src.size else src.resize((work_w, work_h), Image.Resampling.LANCZOS)
        # The original at the output size: what keep-colours, strength and the mask blend with.
        reference = src if config.resize_back else work
        mask = load_mask(config.mask, (reference.height, reference.width)) if config.mask else None
        dreamed = self.dream_tensor(to_tensor(work), config, objective=objective, progress=progress, callback=callback)
        out = to_pil(dreamed)
        if out.size != reference.size:
            out = out.resize(reference.size, Image.Resampling.LANCZOS)
        if config.keep_colors or config.strength < 1.0 or mask is not None:
            blended = finish(
                to_tensor(out),
                to_tensor(reference),
                keep_colors=config.keep_colors,
                strength=config.strength,
                mask=mask,
            )
            out = to_pil(blended)
        model = self.model(config.model, config.weights, config.precision)
        out.info["dreamer"] = {
            **self.resolved(config).to_dict(),
            "weights_name": model.weights,
            "dreamer_version": __version__,
            "device": str(model.device),
            "precision_used": model.precision,
            "input": loaded.path.name if loaded.path else None,
            "seconds": round(time.perf_counter() - started, 2),
            **(metadata or {}),
        }
        if objective is not None:
            out.info["dreamer"]["objective"] = objective.name
        if loaded.alpha is not None:
            out.info["dreamer_alpha"] = loaded.alpha
        return out


def dream(
    image: ImageLike,
    config: DreamConfig | None = None,
    *,
    progress: bool = True,
    callback: Callback | None = None,
    **options: Any,
) -> Image.Image:
    """Dream one photo with a freshly loaded model; use ``Dreamer`` to render many."""
    device = options.get("device", (config or DreamConfig()).device)
    return Dreamer(device).dream(image, config, progress=progress, callback=callback, **options)


def save_dream(im: Image.Image, path: str | os.PathLike[str]) -> Path:
    """Save a dream atomically; PNGs keep its parameters, and its alpha where the input had one."""
    return save_image(im, path, metadata=im.info.get("dreamer"), alpha=im.info.get("dreamer_alpha"))
