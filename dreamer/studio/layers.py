"""The layer picker: a model's layers with the recommended ones marked, each with a small thumbnail.

Thumbnails are feature visualisations of the whole layer (``engine.visualize``), computed once per
model, weights and settings, and kept as PNGs in a cache folder so later servers show them at once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from PIL import Image

from dreamer.core.objectives import layer
from dreamer.engine.engine import Engine
from dreamer.nets.summary import list_layers
from dreamer.nets.wrapper import DreamModel
from dreamer.outputs.images import save_image
from dreamer.spec.presets import THUMB_SPEC
from dreamer.spec.schema import to_dict
from dreamer.spec.specs import VisSpec
from dreamer.version import __version__

STAR = "★"


def layer_names(model: DreamModel) -> list[str]:
    """The layers a dream can use: modules with an image-shaped output, outermost containers left out."""
    names = [
        layer.name
        for layer in list_layers(model, 64)
        if layer.name.count(".") <= 1
        and not (layer.name.count(".") == 0 and list(layer.module.children()))
        and len(layer.shape or ()) == 3  # an image: (C, H, W) with H, W > 1
        and min(layer.shape[-2:]) > 1
    ]
    return names + [n for n in model.spec.dream_layers if n not in names]


def layer_choices(model: DreamModel) -> list[tuple[str, str]]:
    """(label, layer) pairs for a dropdown: recommended layers starred, the default one said."""
    recommended = model.spec.dream_layers
    out = []
    for name in layer_names(model):
        label = name
        if name in recommended:
            label = f"{STAR} {name}" + (" (default)" if name == recommended[0] else " (recommended)")
        out.append((label, name))
    return out


def _key(model: DreamModel, spec: VisSpec) -> str:
    blob = json.dumps([__version__, model.name, model.weights, model.precision, to_dict(spec)], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def thumbnails(engine: Engine, model_name: str, folder: Path, spec: VisSpec = THUMB_SPEC) -> list[tuple[Path, str]]:
    """(thumbnail PNG, label) for each layer of the model; the missing ones computed in one batch and cached."""
    model = engine.model(model_name)
    where = folder / "thumbnails" / f"{model_name}-{_key(model, spec)}"
    choices = layer_choices(model)
    missing = [name for _, name in choices if not (where / f"{name}.png").is_file()]
    if missing:
        where.mkdir(parents=True, exist_ok=True)
        images = engine.visualize([layer(n) for n in missing], spec.replace(model=model_name, batch=len(missing)))
        for name, im in zip(missing, images, strict=True):
            save_image(im, where / f"{name}.png", metadata=im.info.get("dreamer"))
    return [(where / f"{name}.png", label) for label, name in choices]


def open_thumbnails(items: list[tuple[Path, str]]) -> list[tuple[Image.Image, str]]:
    """The cached thumbnails as images for a gallery, captioned with the layer (starred if recommended)."""
    return [(Image.open(p).convert("RGB"), label.split(" (")[0]) for p, label in items]
