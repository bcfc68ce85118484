"""Feature visualisation: optimise images from noise so chosen channels or classes fire.

noise parametrisation (``param``) -> random transforms (``transforms``) -> model with hooks
-> objective, one score per image -> Adam on the parameters. A grid optimises all its cells
together, one image per cell, in batches of ``VisConfig.batch``.
"""

from __future__ import annotations

import difflib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from dreamer import __version__
from dreamer.core.objectives import Objective, channel, class_logit, per_image
from dreamer.errors import DreamerError
from dreamer.featvis import param
from dreamer.featvis.transforms import standard_transforms
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.registry import DreamModel, get_model
from dreamer.outputs.images import labelled_grid, to_pil
from dreamer.spec.config import VisConfig

ModelLike = DreamModel | str | None
StepCallback = Callable[[int, torch.Tensor], None]  # (step, current images (B, 3, H, W))
Callback = Callable[[int, Image.Image], None]  # (step, current image or sheet)


@dataclass(frozen=True)
class Cell:
    """One image of a grid: what it maximises and its caption."""

    objective: Objective
    label: str


def resolve_model(model: ModelLike, config: VisConfig) -> DreamModel:
    """A loaded model as given, or the one the config names."""
    if isinstance(model, DreamModel):
        return model
    return get_model(model or config.model, weights=config.weights, device=config.device)


def _config(config: VisConfig | None, options: dict[str, Any]) -> VisConfig:
    config = config or VisConfig()
    config = config.replace(**options) if options else config
    return config if config.seed is not None else config.replace(seed=secrets.randbits(63))


def optimize(
    model: DreamModel,
    objective: Objective,
    batch: int,
    config: VisConfig,
    generator: torch.Generator,
    *,
    progress: bool = True,
    callback: StepCallback | None = None,
    desc: str = "visualising",
) -> torch.Tensor:
    """Adam on a noise parametrisation so that ``objective`` (one score per image) rises; (B, 3, S, S)."""
    params, image_fn = param.image(
        batch,
        config.size,
        config.size,
        param=config.param,
        decorrelate=config.decorrelate,
        generator=generator,
        device=model.device,
    )
    optimizer = torch.optim.Adam(params, lr=config.lr)
    transform = standard_transforms() if config.transforms else None
    from tqdm.auto import tqdm

    with (
        LayerHooks(model, objective.layers) as run,
        tqdm(total=config.steps, disable=not progress, desc=desc, leave=False) as bar,
    ):
        for step in range(config.steps):
            optimizer.zero_grad(set_to_none=True)
            image = image_fn()  # (B, 3, S, S) in [0, 1]
            seen = transform(image, generator) if transform else image
            score = objective(run(seen))  # (B,)
            (-score.sum()).backward()  # Adam minimises; we maximise
            optimizer.step()
            bar.update(1)
            bar.set_postfix(score=f"{float(score.detach().mean()):.3g}")
            if callback is not None:
                callback(step, image.detach())
    with torch.no_grad():
        return image_fn().clamp(0.0, 1.0)


def render_cells(
    model: DreamModel,
    cells: Sequence[Cell],
    config: VisConfig,
    *,
    progress: bool = True,
    callback: Callable[[int, list[Image.Image]], None] | None = None,
) -> list[Image.Image]:
    """Optimise every cell, ``config.batch`` at a time (one image per cell); returns the images.

    ``callback(step, images)`` gets the finished images so far plus the current batch.
    """
    generator = torch.Generator().manual_seed(config.seed if config.seed is not None else secrets.randbits(63))
    done: list[Image.Image] = []
    for start in range(0, len(cells), config.batch):
        chunk = cells[start : start + config.batch]

        def on_step(step: int, images: torch.Tensor) -> None:
            callback(step, done + [to_pil(im) for im in images])

        desc = f"visualising {start + 1}-{start + len(chunk)} of {len(cells)}" if len(cells) > len(chunk) else None
        images = optimize(
            model,
            per_image([c.objective for c in chunk]),
            len(chunk),
            config,
            generator,
            progress=progress,
            callback=on_step if callback else None,
            desc=desc or "visualising",
        )
        done.extend(to_pil(im) for im in images)
    return done


def _sheet(images: list[Image.Image], cells: Sequence[Cell], columns: int | None = None) -> Image.Image:
    return labelled_grid(images, [c.label for c in cells[: len(images)]], columns)


def _metadata(model: DreamModel, config: VisConfig, started: float, **what: Any) -> dict[str, Any]:
    return {
        "kind": "featvis",
        **what,
        **config.replace(model=model.name).to_dict(),
        "weights_name": model.weights,
        "dreamer_version": __version__,
        "device": str(model.device),
        "seconds": round(time.perf_counter() - started, 2),
    }


def visualize(
    objective: Objective,
    config: VisConfig | None = None,
    *,
    model: ModelLike = None,
    progress: bool = True,
    callback: Callback | None = None,
    **options: Any,
) -> Image.Image:
    """One image, optimised from noise to maximise ``objective`` (e.g. ``channel("blocks.4", 7)``)."""
    config = _config(config, options)
    started = time.perf_counter()
    dm = resolve_model(model, config)
    on_step = (lambda step, images: callback(step, images[0])) if callback else None
    (out,) = render_cells(dm, [Cell(objective, objective.name)], config, progress=progress, callback=on_step)
    out.info["dreamer"] = _metadata(dm, config, started, objective=objective.name)
    return out


def class_index(model: DreamModel, name: str) -> int:
    """An ImageNet class by name (case-insensitive) or number, with close-match suggestions."""
    categories = model.spec.categories
    if not categories:
        raise DreamerError(f"--classes: model {model.name} has no class names in its weights' metadata")
    if name.strip().isdigit() and int(name) < len(categories):
        return int(name)
    lowered = [c.lower() for c in categories]
    key = name.strip().lower()
    if key in lowered:
        return lowered.index(key)
    close = difflib.get_close_matches(key, lowered, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(categories[lowered.index(c)] for c in close)}?" if close else ""
    raise DreamerError(f"--classes: unknown class {name!r}{hint}")


def grid_cells(
    model: DreamModel,
    *,
    layer: str | None = None,
    channels: Sequence[int] | None = None,
    layers: Sequence[str] | None = None,
    classes: Sequence[str | int] | None = None,
    top: int | None = None,
    photo: Any = None,
) -> tuple[list[Cell], int | None]:
    """The cells of a grid and its column count (None = choose a tidy one)."""
    if sum(x is not None and x != [] for x in (layer, layers, classes)) != 1:
        raise DreamerError("give exactly one of --layer, --layers or --classes")
    if classes is not None:
        idx = [class_index(model, str(c)) for c in classes]
        return [Cell(class_logit(i), model.spec.categories[i]) for i in idx], None
    if top is not None and photo is None:
        raise DreamerError("--top needs --photo: the channels that respond most to that photo")
    if top is not None and channels:
        raise DreamerError("give --channels or --top, not both")
    rows = [layer] if layer is not None else list(layers or [])
    from dreamer.featvis.maps import top_channels

    cells: list[Cell] = []
    for name in rows:
        model.check_layer(name)
        picked = (
            top_channels(model, photo, name, top) if top is not None else list(channels or range(16 if layer else 8))
        )
        cells.extend(Cell(channel(name, c), f"{name}:{c}") for c in picked)
    per_row = len(cells) // len(rows)
    return cells, (per_row if layers else None)


def grid(
    layer: str | None = None,
    channels: Sequence[int] | None = None,
    config: VisConfig | None = None,
    *,
    layers: Sequence[str] | None = None,
    classes: Sequence[str | int] | None = None,
    top: int | None = None,
    photo: Any = None,
    columns: int | None = None,
    model: ModelLike = None,
    progress: bool = True,
    callback: Callback | None = None,
    **options: Any,
) -> Image.Image:
    """A labelled sheet of visualisations: channels of a layer, one row per layer, or classes."""
    config = _config(config, options)
    started = time.perf_counter()
    dm = resolve_model(model, config)
    cells, row_columns = grid_cells(
        dm, layer=layer, channels=channels, layers=layers, classes=classes, top=top, photo=photo
    )
    columns = columns or row_columns
    on_step = (lambda step, images: callback(step, _sheet(images, cells, columns))) if callback else None
    images = render_cells(dm, cells, config, progress=progress, callback=on_step)
    out = _sheet(images, cells, columns)
    out.info["dreamer"] = _metadata(dm, config, started, cells=[c.label for c in cells])
    return out
