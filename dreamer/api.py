"""The notebook API: one-call functions over a shared ``Engine``, with ``tqdm.auto`` bars and previews.

Like the CLI, this is a surface: it builds specs, calls the engine, and turns its events into
progress bars (``tqdm.auto``: widgets in Jupyter, text in a terminal) and warnings.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image

from dreamer.engine.engine import Engine, ImageLike
from dreamer.engine.events import Event, OnEvent, Started, Step, Warned
from dreamer.errors import DreamerWarning
from dreamer.outputs.images import save_image
from dreamer.spec.specs import DreamSpec, VisSpec

Preview = Callable[[int, Image.Image], None]  # (steps done, image so far)


@contextmanager
def progress_bar(desc: str, enabled: bool = True, preview: Preview | None = None) -> Iterator[OnEvent]:
    """An event listener that drives a tqdm bar, shows warnings, and hands previews to ``preview``."""
    from tqdm.auto import tqdm

    bars: list[Any] = []  # made on the first Started event, so a run that fails early prints no bar

    def on_event(event: Event) -> None:
        if isinstance(event, Started):
            if bars:
                bars[0].reset(total=event.total)
            else:
                bars.append(tqdm(total=event.total, disable=not enabled, desc=desc, leave=False))
        elif isinstance(event, Step) and bars:
            bar = bars[0]
            bar.update(1)
            bar.set_postfix(score=f"{event.score:.3g}")
            if preview is not None and event.preview is not None:
                preview(event.done, event.preview)
        elif isinstance(event, Warned):
            warnings.warn(event.message, DreamerWarning, stacklevel=2)

    try:
        yield on_event
    finally:
        for bar in bars:
            bar.close()


def _vis_spec(spec: VisSpec | None, options: dict[str, Any]) -> VisSpec:
    """The spec with the VisSpec knobs among ``options`` applied (and removed from ``options``)."""
    knobs = {k: options.pop(k) for k in list(options) if k in VisSpec.__dataclass_fields__}
    return (spec or VisSpec()).replace(**knobs)


def _engine(engine: Engine | None, device: str) -> Engine:
    return engine if engine is not None else Engine(device=device)


def dream(
    image: ImageLike,
    spec: DreamSpec | None = None,
    *,
    engine: Engine | None = None,
    device: str = "auto",
    progress: bool = True,
    preview: Preview | None = None,
    preview_every: int = 0,
    **knobs: Any,
) -> Image.Image:
    """Dream one photo; pass ``engine`` (an ``Engine()`` you keep) to render many without reloading."""
    with progress_bar("dreaming", progress, preview) as on_event:
        return _engine(engine, device).dream(
            image, spec, on_event=on_event, preview_every=preview_every or (5 if preview else 0), **knobs
        )


def visualize(
    objective: Any,
    spec: VisSpec | None = None,
    *,
    engine: Engine | None = None,
    device: str = "auto",
    progress: bool = True,
    **knobs: Any,
) -> Image.Image:
    """One image optimised from noise to maximise ``objective`` (e.g. ``channel("blocks.4", 7)``).

    With ``alpha=True`` it is RGBA; with ``diversity=N`` a row of the N images on a checkerboard.
    """
    with progress_bar("visualising", progress) as on_event:
        outs = _engine(engine, device).visualize([objective], (spec or VisSpec()).replace(**knobs), on_event=on_event)
    if len(outs) == 1:
        return outs[0]
    from dreamer.featvis.alpha import on_checkerboard
    from dreamer.outputs.sheets import labelled_grid

    row = labelled_grid([on_checkerboard(im) for im in outs], [objective.name] * len(outs), len(outs))
    row.info["dreamer"] = outs[0].info["dreamer"]
    return row


def accent(
    photo: ImageLike,
    objective: Any,
    spec: VisSpec | None = None,
    *,
    engine: Engine | None = None,
    device: str = "auto",
    progress: bool = True,
    **knobs: Any,
) -> Image.Image:
    """The photo with ``objective`` (a channel or class) accentuated in it, kept close to the photo."""
    with progress_bar("accentuating", progress) as on_event:
        return _engine(engine, device).accent(photo, objective, (spec or VisSpec()).replace(**knobs), on_event=on_event)


def grid(
    spec: VisSpec | None = None,
    *,
    engine: Engine | None = None,
    device: str = "auto",
    progress: bool = True,
    **options: Any,
) -> Image.Image:
    """A labelled sheet: ``layer=`` (and ``channels=``/``top=`` with ``photo=``), ``layers=`` or ``classes=``."""
    spec = _vis_spec(spec, options)
    with progress_bar("visualising", progress) as on_event:
        return _engine(engine, device).grid(spec, on_event=on_event, **options)


def maps(
    photo: ImageLike,
    layer: str,
    spec: VisSpec | None = None,
    *,
    engine: Engine | None = None,
    device: str = "auto",
    progress: bool = True,
    **options: Any,
) -> Image.Image:
    """The photo's activation maps at ``layer`` beside what each channel wants to see."""
    spec = _vis_spec(spec, options)
    with progress_bar("visualising", progress) as on_event:
        return _engine(engine, device).maps(photo, layer, spec, on_event=on_event, **options)


def save_dream(im: Image.Image, path: str | os.PathLike[str]) -> Path:
    """Save a dream atomically; PNGs keep its settings, and its alpha where the input had one."""
    return save_image(im, path, metadata=im.info.get("dreamer"), alpha=im.info.get("dreamer_alpha"))
