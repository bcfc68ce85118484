"""Evidence beside a visualisation: the real photo patches that excite its channel or class most.

A channel's exemplars are the positions of its map, over every photo, with the highest activation
(at most one per neighbourhood, so one blob does not fill the strip); a class's are the square
crops of the photos with the highest logit. Each keeps its photo, box and value; ``with_strip``
draws them under a picture.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from PIL import Image, ImageDraw, ImageFont

from dreamer.core.objectives import Objective
from dreamer.core.tensors import to_tensor
from dreamer.featvis.atlas import patch_box
from dreamer.featvis.maps import PHOTO_SIDE
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.wrapper import LOGITS, DreamModel
from dreamer.outputs.images import fit_max_side

RADIUS = 2  # positions of one map this close (in strides) to a chosen one are not chosen again
CROPS = (0.5, 0.75, 1.0)  # a class's candidate crops: sides as fractions of the photo's shorter side
OVERLAP = 0.5  # two crops of one photo overlapping more than this (IoU) count as one
VALUE_BAND = 11  # pixels under each exemplar for its value

Photos = Sequence[tuple[str, Image.Image]]  # (name, RGB photo)


@dataclass(frozen=True)
class Exemplar:
    """A patch of a photo and how strongly it drives the target (activation, or logit for a class)."""

    photo: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the photo's pixels
    value: float
    image: Image.Image = field(compare=False, repr=False)

    def record(self) -> dict[str, object]:
        """The exemplar as metadata records it."""
        return {"photo": self.photo, "box": list(self.box), "value": round(self.value, 4)}


def target_of(objective: Objective) -> tuple[str, int] | None:
    """(layer, channel) or (``logits``, class) when the objective is one channel's or class's mean, else None."""
    terms = objective.terms or ()
    m = re.fullmatch(r"([\w.]+)\[(\d+)\]@mean", terms[0]) if len(terms) == 1 else None
    return (m.group(1), int(m.group(2))) if m else None


def top_positions(maps: torch.Tensor, k: int, radius: int = RADIUS) -> list[list[tuple[float, int, int]]]:
    """For each map (K, h, w), up to ``k`` (value, y, x), strongest first, none within ``radius`` of a better one."""
    out = []
    for m in maps:
        w = m.shape[-1]
        chosen: list[tuple[float, int, int]] = []
        values, order = m.flatten().sort(descending=True)
        for value, i in zip(values.tolist(), order.tolist(), strict=True):
            y, x = divmod(i, w)
            if all(max(abs(y - cy), abs(x - cx)) > radius for _, cy, cx in chosen):
                chosen.append((value, y, x))
                if len(chosen) == k:
                    break
        out.append(chosen)
    return out


def _best(found: list[Exemplar], k: int) -> list[Exemplar]:
    return sorted(found, key=lambda e: -e.value)[:k]


def channel_exemplars(
    model: DreamModel, photos: Photos, layer: str, channels: Sequence[int], k: int
) -> dict[int, list[Exemplar]]:
    """Each channel's ``k`` strongest patches over the photos (each looked at ``PHOTO_SIDE`` px)."""
    found: dict[int, list[Exemplar]] = {c: [] for c in channels}
    with LayerHooks(model, [layer]) as run, torch.no_grad():
        for name, rgb in photos:
            size = fit_max_side(rgb.size, PHOTO_SIDE)
            act = run(to_tensor(rgb.resize(size, Image.Resampling.LANCZOS)).to(model.device))[layer][0].float().cpu()
            for c, picks in zip(channels, top_positions(act[list(channels)], k), strict=True):
                for value, y, x in picks:
                    box = tuple(patch_box(y, x, tuple(act.shape[-2:]), size, rgb.size))
                    found[c].append(Exemplar(name, box, value, rgb.crop(box)))  # type: ignore[arg-type]
    return {c: _best(v, k) for c, v in found.items()}


def _iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / max(union, 1)


def crop_boxes(size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Square crops of a (W, H) photo at each ``CROPS`` side, on a grid of half-side steps."""
    w, h = size
    boxes = []
    for f in CROPS:
        side = max(1, round(min(w, h) * f))
        step = max(1, side // 2)
        for y in range(0, h - side + 1, step):
            boxes += [(x, y, x + side, y + side) for x in range(0, w - side + 1, step)]
    return boxes


def class_exemplars(model: DreamModel, photos: Photos, classes: Sequence[int], k: int) -> dict[int, list[Exemplar]]:
    """Each class's ``k`` crops with the highest logit over the photos (overlapping crops of a photo count once)."""
    found: dict[int, list[Exemplar]] = {c: [] for c in classes}
    side = model.spec.input_size
    for name, rgb in photos:
        boxes = crop_boxes(rgb.size)
        batch = torch.cat([to_tensor(rgb.crop(b).resize((side, side), Image.Resampling.BILINEAR)) for b in boxes])
        logits = torch.cat([model.logits(chunk) for chunk in batch.split(32)]).cpu()
        for c in classes:
            kept: list[int] = []
            for i in logits[:, c].argsort(descending=True).tolist():
                if all(_iou(boxes[i], boxes[j]) <= OVERLAP for j in kept):
                    kept.append(i)
                if len(kept) == k:
                    break
            found[c] += [Exemplar(name, boxes[i], float(logits[i, c]), rgb.crop(boxes[i])) for i in kept]
    return {c: _best(v, k) for c, v in found.items()}


def exemplars_for(
    model: DreamModel, photos: Photos, objectives: Sequence[Objective], k: int
) -> list[list[Exemplar] | None]:
    """Each objective's exemplars (None for one that is not a channel's or class's mean)."""
    targets = [target_of(o) for o in objectives]
    by_layer: dict[str, list[int]] = {}
    for t in targets:
        if t is not None:
            by_layer.setdefault(t[0], []).append(t[1])
    found = {}
    for layer, idx in by_layer.items():
        unique = sorted(set(idx))
        if layer == LOGITS:
            found[layer] = class_exemplars(model, photos, unique, k)
        else:
            found[layer] = channel_exemplars(model, photos, layer, unique, k)
    return [found[t[0]][t[1]] if t is not None else None for t in targets]


def strip_height(width: int, k: int) -> int:
    """Height of the strip ``with_strip`` adds under a picture ``width`` wide."""
    return width // max(k, 1) + VALUE_BAND


def with_strip(picture: Image.Image, exemplars: Sequence[Exemplar], k: int) -> Image.Image:
    """The picture with its exemplars under it, each with its value; ``k`` slots (empty ones left white)."""
    w, h = picture.size
    cell = w // max(k, 1)
    out = Image.new("RGB", (w, h + strip_height(w, k)), "white")
    out.paste(picture.convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default()
    for i, e in enumerate(exemplars[:k]):
        x = i * cell
        out.paste(e.image.convert("RGB").resize((cell - 1, cell - 1), Image.Resampling.LANCZOS), (x, h + 1))
        draw.text((x + 1, h + cell), f"{e.value:.3g}", fill="black", font=font)
    return out
