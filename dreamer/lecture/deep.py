"""The lesson's figures that run the engine: the stages' top channels beside their visualisations, the classes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from dreamer.core.objectives import channel, class_logit
from dreamer.core.tensors import to_tensor
from dreamer.engine.engine import Engine
from dreamer.featvis.maps import PHOTO_SIDE, heat_map, photo_activations
from dreamer.lecture import run
from dreamer.lecture.figures import strip
from dreamer.nets.wrapper import DreamModel
from dreamer.outputs.images import fit_max_side
from dreamer.spec.specs import VisSpec


@dataclass(frozen=True)
class StageChannels:
    """A stage's most excited channels for the photo: (channel, mean activation, heat map)."""

    name: str
    channels: list[tuple[int, float, Image.Image]]


@dataclass(frozen=True)
class Hierarchy:
    """Per stage, its top channels beside their visualisations; and the top class with its visualisation."""

    stages: list[tuple[str, Image.Image]]  # (stage name, figure)
    top: list[tuple[str, float]]  # top-5 (class, probability)
    class_picture: Image.Image


def top_classes(model: DreamModel, photo: Image.Image, k: int = 5) -> tuple[list[tuple[str, float]], int]:
    """The ``k`` likeliest classes for the photo with their probabilities, and the top one's index."""
    photo = photo.resize(fit_max_side(photo.size, PHOTO_SIDE), Image.Resampling.LANCZOS)
    probs = model.logits(to_tensor(photo)).softmax(-1)[0]
    values, idx = probs.topk(k)
    names = model.spec.categories or tuple(str(i) for i in range(probs.numel()))
    return [(names[i], float(v)) for v, i in zip(values, idx.tolist(), strict=True)], int(idx[0])


def excited(model: DreamModel, photo: Image.Image, stages: Sequence[str], k: int, side: int) -> list[StageChannels]:
    """Per stage, the ``k`` channels with the highest mean activation on the photo, with their heat maps."""
    out = []
    for name in stages:
        act, seen = photo_activations(model, photo, name)
        means = act.mean((1, 2))
        top = means.topk(min(k, len(means))).indices.tolist()
        size = (round(side * seen.width / seen.height), side)
        out.append(StageChannels(name, [(c, float(means[c]), heat_map(seen, act[c], size)) for c in top]))
    return out


def hierarchy(engine: Engine, photo: Image.Image, stages: Sequence[str], k: int, vis: VisSpec) -> Hierarchy:
    """Every stage's top channels and the top class, visualised together in one batch."""
    model = engine.model(vis.model, vis.weights)
    found = excited(model, photo, stages, k, vis.size)
    top, best = top_classes(model, photo)
    objectives = [channel(s.name, c) for s in found for c, _, _ in s.channels] + [class_logit(best)]
    pictures = run.visualise(engine, objectives, vis)
    figures = []
    for s in found:
        pairs, labels = [], []
        for c, mean, heat in s.channels:
            pic = pictures.pop(0)
            pair = Image.new("RGB", (heat.width + 4 + pic.width, max(heat.height, pic.height)), "white")
            pair.paste(heat, (0, 0))
            pair.paste(pic, (heat.width + 4, 0))
            pairs.append(pair)
            labels.append(f"channel {c}  (mean {mean:.2f})")
        figures.append((s.name, strip(pairs, labels, font_size=12, gap=10)))
    return Hierarchy(figures, top, pictures[0])
