"""Styles with their layers checked against their model: the one step of reading a style that needs the nets."""

from __future__ import annotations

import difflib
from pathlib import Path

from dreamer.core.objectives import parse_specs
from dreamer.errors import DreamerError
from dreamer.nets.registry import get_spec
from dreamer.spec.specs import DreamSpec
from dreamer.spec.styles import Style, load_style, style_names


def checked_style(name_or_path: str | Path) -> Style:
    """A style (``load_style``) whose layers all exist in its model (checked on the bare architecture)."""
    style = load_style(name_or_path)
    check_layers(str(style.path), style.apply())
    return style


def check_layers(where: str, config: DreamSpec) -> None:
    """Every layer a style names must exist in its model (checked on the bare architecture)."""
    if not config.layers:
        return
    try:
        objective = parse_specs(config.layers)
    except DreamerError as exc:
        raise exc.spell(lambda n: f"{where}: key {n!r}") from None
    spec = get_spec(config.model)
    names = {n for n, _ in spec.architecture().named_modules() if n} | {"logits"}
    for name in objective.layers:
        if name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"see `dreamer layers --model {config.model}`"
            raise DreamerError(f"{where}: key 'layers': model {config.model} has no layer {name!r}; {hint}")


def styles_at_hand() -> tuple[list[str], list[str]]:
    """(the shipped styles whose model's weights load with no download, the others): ``--all-styles`` runs the first."""
    ready, left_out = [], []
    for name in style_names():
        (ready if get_spec(load_style(name).apply().model).at_hand() else left_out).append(name)
    return ready, left_out
