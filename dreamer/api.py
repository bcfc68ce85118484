"""The notebook API: one-call functions over a shared ``Engine``, with ``tqdm.auto`` bars and previews.

Like the CLI, this is a surface: it builds specs, calls the engine, and turns its events into
progress bars (``tqdm.auto``: widgets in Jupyter, text in a terminal) and warnings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from PIL import Image

from dreamer.engine.engine import Engine, ImageLike
from dreamer.engine.events import CancelToken
from dreamer.runners.progress import Preview, progress_bar
from dreamer.spec.live import LiveSpec
from dreamer.spec.presets import LIVE_SPEC
from dreamer.spec.specs import DEFAULT_MODEL, DreamSpec, VisSpec

if TYPE_CHECKING:
    from dreamer.mirror.loop import LiveFrame
    from dreamer.nets.summary import LayerTable


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


def caricature(
    photo: ImageLike,
    spec: VisSpec | None = None,
    *,
    layers: Sequence[str] | None = None,
    power: float | None = None,
    engine: Engine | None = None,
    device: str = "auto",
    progress: bool = True,
    **knobs: Any,
) -> Image.Image:
    """The network's caricature of ``photo`` at ``layers`` (e.g. ``["blocks.4", "blocks.2:0.3"]``); ``power`` of cos."""
    spec = (spec or VisSpec()).replace(**knobs)
    if layers is not None:
        spec = spec.replace(caricature_layers=tuple(layers))
    if power is not None:
        spec = spec.replace(caricature_power=power)
    with progress_bar("caricaturing", progress) as on_event:
        return _engine(engine, device).caricature(photo, spec, on_event=on_event)


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


def atlas(
    photos: Any,
    out_dir: Any,
    layer: str,
    spec: Any = None,
    vis: VisSpec | None = None,
    *,
    engine: Engine | None = None,
    device: str = "auto",
    progress: bool = True,
    **knobs: Any,
) -> Any:
    """An activation atlas of ``layer`` over ``photos`` (files or folders) in ``out_dir``; an ``AtlasResult``.

    Keywords are knobs of ``AtlasSpec`` (``grid=12``, ``layout="pca"``) or of the cells' ``VisSpec`` (``steps``).
    """
    from dreamer.engine.atlas import atlas as make_atlas
    from dreamer.spec.atlas import ATLAS_VIS, AtlasSpec

    own = {k: knobs.pop(k) for k in list(knobs) if k in AtlasSpec.__dataclass_fields__}
    spec = (spec or AtlasSpec()).replace(**own)
    vis = _vis_spec(vis or ATLAS_VIS, knobs)
    if knobs:
        raise TypeError(f"atlas() got unknown keywords: {', '.join(knobs)}")
    with progress_bar("atlas cells", progress) as on_event:
        return make_atlas(
            _engine(engine, device),
            photos if isinstance(photos, (list, tuple)) else [photos],
            out_dir,
            layer,
            spec,
            vis,
            on_event=on_event,
        )


def live(
    frames: Iterable[ImageLike],
    spec: LiveSpec | None = None,
    dream: DreamSpec | None = None,
    *,
    engine: Engine | None = None,
    device: str = "auto",
    cancel: CancelToken | None = None,
    **knobs: Any,
) -> Iterator[LiveFrame]:
    """Dream frames as they come (a camera, a video's frames, a list of images): one dreamed ``LiveFrame`` each.

    Each frame starts from the last dream carried along the optical flow; keywords are knobs of
    ``LiveSpec`` (``mood="deepen"``, ``target_fps=0``) or of each frame's ``DreamSpec`` (``steps``,
    ``max_side``, ``layers``, ``strength``). It ends with ``frames`` or when ``cancel`` is asked.
    """
    from dreamer.mirror.loop import live as live_loop

    moods = {k: knobs.pop(k) for k in list(knobs) if k in LiveSpec.__dataclass_fields__}
    spec = (spec or LiveSpec()).replace(**moods)
    return live_loop(frames, spec, (dream or LIVE_SPEC).replace(**knobs), engine=_engine(engine, device), cancel=cancel)


def layers(
    model: str = DEFAULT_MODEL,
    weights: str | None = None,
    *,
    size: int = 224,
    depth: int | None = 2,
    engine: Engine | None = None,
) -> LayerTable:
    """A model's layers with output shapes and the recommended and default marks: the table ``dreamer layers`` prints.

    Iterate it for rows (``name``, ``shape``, ``recommended``, ``default``); ``depth=None`` lists every module.
    """
    from dreamer.nets.summary import layer_table

    net = (engine or Engine(device="cpu", precision="fp32")).model(model, weights)
    return layer_table(net, size=size, depth=depth)
