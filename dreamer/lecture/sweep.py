"""``sweep``: a photo dreamed at a list of layers (default: one per stage), as one labelled strip."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PIL import Image

from dreamer.core.objectives import parse_spec
from dreamer.engine.engine import Engine, ImageLike
from dreamer.engine.records import sweep_record
from dreamer.lecture import run
from dreamer.lecture.figures import anatomy, strip, strip_size
from dreamer.outputs.imagelike import as_loaded
from dreamer.outputs.images import fit_max_side
from dreamer.spec.specs import DreamSpec

LayerCallback = Callable[[int, int, str], None]  # (layers done, total, the one just dreamed)


def sweep(
    photo: ImageLike,
    layers: Sequence[str] | None = None,
    spec: DreamSpec | None = None,
    *,
    engine: Engine | None = None,
    on_layer: LayerCallback | None = None,
    fits: Callable[[tuple[int, int]], None] | None = None,
) -> Image.Image:
    """The photo dreamed at each layer (default: one per stage) as one labelled strip, settings in ``.info``.

    Each layer is a layer spec as ``-l`` takes it (``blocks.3``, ``blocks.4[7]:2``), dreamed with
    the same seed and settings; ``on_layer(done, total, layer)`` follows along; ``fits`` as ``dream_strip``'s.
    """
    engine = engine or Engine()
    plan = engine.plan((spec or DreamSpec()).replace(layers=()))  # the seed every layer's dream shares
    model = plan.model
    layers = list(layers or anatomy(model).stages)
    for text in layers:
        for name in parse_spec(text).layers:
            model.check_layer(name)
    loaded = as_loaded(photo, "photo")
    out = dream_strip(engine, loaded.rgb, layers, plan.spec, on_layer=on_layer, fits=fits)
    out.info["dreamer"] = sweep_record(plan, layers, loaded.path.name if loaded.path else None)
    return out


def dream_strip(
    engine: Engine,
    photo: Image.Image,
    layers: Sequence[str],
    spec: DreamSpec,
    *,
    with_photo: bool = False,
    columns: int | None = None,
    on_layer: Callable[[int, int, str], None] | None = None,
    fits: Callable[[tuple[int, int]], None] | None = None,
) -> Image.Image:
    """The photo dreamed at each layer in turn (same seed and settings), as one labelled strip.

    ``fits`` gets the strip's (width, height) before the first dream (the CLI refuses one its format cannot hold).
    """
    if fits is not None:
        size = photo.size if spec.resize_back else fit_max_side(photo.size, spec.max_side)  # each dream's
        side = max(size)
        fits(strip_size(len(layers) + with_photo, size, columns, max(12, side // 16), max(6, side // 64)))
    dreams = []
    for name in layers:
        dreams.append(run.dream(engine, photo, spec.replace(layers=(name,))))
        if on_layer:
            on_layer(len(dreams), len(layers), name)
    labels = list(layers)
    if with_photo:
        dreams.insert(0, photo.resize(dreams[0].size, Image.Resampling.LANCZOS))
        labels.insert(0, "photo")
    side = max(max(d.size) for d in dreams)
    return strip(dreams, labels, columns=columns, font_size=max(12, side // 16), gap=max(6, side // 64))
