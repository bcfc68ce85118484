"""What a feature-visualisation sheet holds: one cell per channel or class, with its caption."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dreamer.core.objectives import Objective, channel, class_logit
from dreamer.errors import DreamerError
from dreamer.featvis.maps import top_channels
from dreamer.nets.wrapper import DreamModel


@dataclass(frozen=True)
class Cell:
    """One image of a grid: what it maximises and its caption."""

    objective: Objective
    label: str


def class_index(model: DreamModel, name: str) -> int:
    """An ImageNet class by name (case-insensitive) or number, with close-match suggestions."""
    categories = model.spec.categories
    if not categories:
        raise DreamerError(
            f"`classes`: model {model.name} has no class names in its weights' metadata", field="classes"
        )
    if name.strip().isdigit() and int(name) < len(categories):
        return int(name)
    lowered = [c.lower() for c in categories]
    key = name.strip().lower()
    if key in lowered:
        return lowered.index(key)
    close = difflib.get_close_matches(key, lowered, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(categories[lowered.index(c)] for c in close)}?" if close else ""
    raise DreamerError(f"`classes`: unknown class {name!r}{hint}", field="classes")


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
        raise DreamerError("give exactly one of `layer`, `layers` or `classes`", refs=("layer", "layers", "classes"))
    if classes is not None:
        idx = [class_index(model, str(c)) for c in classes]
        return [Cell(class_logit(i), model.spec.categories[i]) for i in idx], None
    if top is not None and photo is None:
        raise DreamerError(
            "`top` needs `photo`: the channels that respond most to that photo", field="top", refs=("photo",)
        )
    if top is not None and channels:
        raise DreamerError("give `channels` or `top`, not both", refs=("channels", "top"))
    rows = [layer] if layer is not None else list(layers or [])
    cells: list[Cell] = []
    for name in rows:
        model.check_layer(name)
        picked = (
            top_channels(model, photo, name, top) if top is not None else list(channels or range(16 if layer else 8))
        )
        cells.extend(Cell(channel(name, c), f"{name}:{c}") for c in picked)
    per_row = len(cells) // len(rows)
    return cells, (per_row if layers else None)
