"""The lesson's figures of the network itself: its kernels, its first feature maps, its shape.

Each function takes the loaded model and the photo (RGB, at the size the network sees) and
returns images plus the numbers the page writes beside them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torch import nn

from dreamer.core.tensors import to_tensor
from dreamer.lecture.words import size
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.summary import list_layers
from dreamer.nets.wrapper import DreamModel

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish, nn.GELU, nn.LeakyReLU)
MAP_SIDE = 150  # longer side of each drawn feature map


@dataclass(frozen=True)
class Anatomy:
    """Where the lesson looks in a network: the first conv, its output before and after the activation, the stages."""

    conv: str
    pre: str
    act: str | None
    stages: tuple[str, ...]
    head: str | None = None  # a last layer after the stages, before the maps are averaged


@dataclass(frozen=True)
class Stage:
    """One stage's output for the photo: its name, channels and map size."""

    name: str
    channels: int
    height: int
    width: int


def anatomy(model: DreamModel) -> Anatomy:
    """Where the lesson looks: the first conv and its activation found in the module list; the stages the spec's."""
    mods = [(layer.name, layer.module) for layer in list_layers(model)]
    first = next(i for i, (_, m) in enumerate(mods) if isinstance(m, nn.Conv2d))
    acts = [i for i, (_, m) in enumerate(mods) if isinstance(m, ACTIVATIONS) and i > first]
    act = mods[acts[0]][0] if acts else None
    pre = mods[acts[0] - 1][0] if acts else mods[first][0]
    return Anatomy(mods[first][0], pre, act, model.spec.stages or _stages(mods), model.spec.head)


def _stages(mods: list[tuple[str, nn.Module]]) -> tuple[str, ...]:
    """A network's stages when its spec names none, found in its module list.

    The children of its longest top-level Sequential (VGG's features, MobileNet's features), or else
    its top-level children that are not leaves (ResNet's layer1-4, GoogLeNet's inception blocks).
    """
    children = [(n, m) for n, m in mods if "." not in n]
    seqs = [(n, m) for n, m in children if isinstance(m, nn.Sequential)]
    if seqs:
        name, seq = max(seqs, key=lambda s: len(s[1]))
        return tuple(f"{name}.{c}" for c, _ in seq.named_children())
    return tuple(n for n, m in children if any(True for _ in m.children()))


def architecture(model: DreamModel, photo: Image.Image, names: Sequence[str]) -> list[Stage]:
    """Each named layer's output size for the photo (``list_layers`` at the photo's size)."""
    shapes = {layer.name: layer.shape for layer in list_layers(model, (photo.height, photo.width))}
    return [Stage("input", 3, photo.height, photo.width)] + [
        Stage(n, *shapes[n]) for n in names if len(shapes[n] or ()) == 3
    ]


def kernels(model: DreamModel, conv: str, size: int = 48) -> tuple[Image.Image, tuple[int, ...]]:
    """The first conv's kernels as colour patches (each scaled to its own range; grey = 0) and the weights' shape."""
    w = model.module(conv).weight.detach().float().cpu()  # (C, 3, k, k); batch-norm folded in, as it runs
    scaled = w / w.abs().amax((1, 2, 3), keepdim=True).clamp_min(1e-8)
    patches = [
        Image.fromarray((127.5 + 127.5 * k.permute(1, 2, 0).numpy()).round().astype(np.uint8), "RGB").resize(
            (size, size), Image.Resampling.NEAREST
        )
        for k in scaled
    ]
    return strip(patches, [str(i) for i in range(len(patches))], columns=min(16, len(patches)), font_size=11), tuple(
        w.shape
    )


def signed_map(a: torch.Tensor, limit: float, side: int = MAP_SIDE) -> Image.Image:
    """A feature map (h, w) in blue (negative), white (0) and red (positive), full colour at +-limit."""
    t = (a / max(limit, 1e-8)).clamp(-1, 1).numpy()
    pos, neg = np.clip(t, 0, 1)[..., None], np.clip(-t, 0, 1)[..., None]
    rgb = 255 - pos * np.array([0, 200, 200]) - neg * np.array([200, 160, 0])
    im = Image.fromarray(rgb.round().astype(np.uint8), "RGB")
    h, w = a.shape
    scale = side / max(h, w)
    return im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.NEAREST)


@dataclass(frozen=True)
class FirstLayers:
    """Feature maps of a few channels at each step of the first layers, with their sizes."""

    rows: list[tuple[str, Image.Image, tuple[int, int, int]]]  # (what, strip, (channels, h, w))


def first_layers(model: DreamModel, photo: Image.Image, parts: Anatomy, n: int = 6) -> FirstLayers:
    """The photo after the first conv, its activation, a 2x2 max-pool (ours) and the first downsampling stage."""
    down = _first_downsampling(model, photo, parts)
    names = [parts.pre] + ([parts.act] if parts.act else []) + ([down] if down else [])
    with LayerHooks(model, names) as run, torch.no_grad():
        acts = {k: v[0].float().cpu() for k, v in run(to_tensor(photo).to(model.device)).items()}
    pre = acts[parts.pre]
    picked = pre.flatten(1).std(1).topk(min(n, pre.shape[0])).indices.tolist()  # the liveliest channels
    rows = []

    def scale(maps: torch.Tensor, chans: list[int]) -> list[float]:
        # the 99th percentile of |value|: a few extreme pixels should not wash the map out
        return [float(maps[c].abs().flatten().float().quantile(0.99)) for c in chans]

    def row(what: str, maps: torch.Tensor, chans: list[int], limits: list[float]) -> None:
        ims = [signed_map(maps[c], lim) for c, lim in zip(chans, limits, strict=True)]
        labels = [f"channel {c}" for c in chans]
        rows.append((what, strip(ims, labels, font_size=12), tuple(maps.shape)))

    limits = scale(pre, picked)  # one scale per channel for the conv, its activation and the pooling
    row(f"after the first convolution (layer {parts.pre})", pre, picked, limits)
    if parts.act:
        act = acts[parts.act]
        kind = type(model.module(parts.act)).__name__
        row(f"after the activation, {kind} (layer {parts.act})", act, picked, limits)
        row("max-pooled 2x2 (by us, for comparison)", F.max_pool2d(act[None], 2)[0], picked, limits)
    if down:
        d = acts[down]
        chans = d.mean((1, 2)).topk(min(n, d.shape[0])).indices.tolist()
        row(f"after the first stage with smaller maps (stage {down})", d, chans, scale(d, chans))
    return FirstLayers(rows)


def _first_downsampling(model: DreamModel, photo: Image.Image, parts: Anatomy) -> str | None:
    """The first stage whose output is smaller than the first conv's."""
    sizes = architecture(model, photo, [parts.pre, *parts.stages])
    first = sizes[1].height
    return next((s.name for s in sizes[2:] if s.height < first), None)


HEIGHT, RECEDE, DEPTH = 18, 4, 13  # pixels per doubling of a map's height, of its width, of the channels


@dataclass(frozen=True)
class Slab:
    """One stage as the diagram draws it: its left edge, front-face height, thickness, and receding depth."""

    x: int
    height: int  # the map's height, log scale
    thickness: int  # the number of channels, log scale
    recede: int  # the map's width, log scale, drawn receding at 45 degrees


def label(stage: Stage) -> list[str]:
    """The lines written under a stage's slab: its name, its channels, its map's size (width x height)."""
    return [
        stage.name,
        f"{stage.channels} channel{'s' if stage.channels != 1 else ''}",
        size(stage.width, stage.height),
    ]


def layout(stages: Sequence[Stage], font: ImageFont.ImageFont | ImageFont.FreeTypeFont, gap: int = 12) -> list[Slab]:
    """Where each slab goes: height and depth grow with the log of the map's sides, thickness with the log of channels.

    On a log scale the input's 3 channels stay visibly thin and a deep stage's 6x8 map stays visible:
    each halving of the map takes the same step off the height, each doubling of channels adds the same thickness.
    """
    slabs, x = [], gap
    for s in stages:
        h = round(HEIGHT * (1 + math.log2(s.height)))
        d = round(RECEDE * (1 + math.log2(s.width)))
        t = max(4, round(DEPTH * math.log2(s.channels)))
        slabs.append(Slab(x, h, t, d))
        text = max(font.getlength(line) for line in label(s))
        x += round(max(t + d, text)) + gap
    return slabs


def diagram(stages: Sequence[Stage], classes: int | None = None) -> Image.Image:
    """Stages as slabs: height follows the map's size, thickness the number of channels (both log scale)."""
    font = ImageFont.load_default(size=14)
    slabs = layout(stages, font)
    last = slabs[-1]
    width = last.x + max(last.thickness + last.recede, 90) + (110 if classes else 20)
    base = 24 + max(s.height + s.recede for s in slabs)
    im = Image.new("RGB", (width, base + 70), "white")
    draw = ImageDraw.Draw(im)
    for i, (s, b) in enumerate(zip(stages, slabs, strict=True)):
        shade = 90 + round(140 * i / max(1, len(stages) - 1))
        front, side = (250 - shade // 3, 200 - shade // 2, shade), (200 - shade // 3, 150 - shade // 2, shade - 40)
        x, t, d, y0 = b.x, b.thickness, b.recede, base - b.height
        # the top face and the right face recede (the map's width), the front face is channels x height
        draw.polygon([(x, y0), (x + t, y0), (x + t + d, y0 - d), (x + d, y0 - d)], fill=side, outline="black")
        draw.polygon(
            [(x + t, y0), (x + t + d, y0 - d), (x + t + d, base - d), (x + t, base)], fill=side, outline="black"
        )
        draw.rectangle((x, y0, x + t, base), fill=front, outline="black")
        for j, line in enumerate(label(s)):
            draw.text((x, base + 8 + 18 * j), line, fill="black" if j == 0 else (60, 60, 60), font=font)
    if classes:
        x = last.x + last.thickness + last.recede + 20
        draw.text((x, base - 36), f"-> {classes}", fill="black", font=font)
        draw.text((x, base - 18), "classes", fill="black", font=font)
    return im


def strip_size(n: int, cell: tuple[int, int], columns: int | None, font_size: int, gap: int) -> tuple[int, int]:
    """(width, height) of the ``strip`` of ``n`` images of ``cell`` size: known before any image is made."""
    columns = columns or n
    rows = math.ceil(n / columns)
    return columns * (cell[0] + gap) + gap, rows * (cell[1] + font_size + 8 + gap) + gap


def strip(
    images: Sequence[Image.Image], labels: Sequence[str], columns: int | None = None, font_size: int = 14, gap: int = 6
) -> Image.Image:
    """Images side by side (wrapping after ``columns``), each with a caption under it, on white."""
    columns = columns or len(images)
    font = ImageFont.load_default(size=font_size)
    w, h = max(i.width for i in images), max(i.height for i in images)
    label_h = font_size + 8
    sheet = Image.new("RGB", strip_size(len(images), (w, h), columns, font_size, gap), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        x, y = gap + (i % columns) * (w + gap), gap + (i // columns) * (h + label_h + gap)
        sheet.paste(image.convert("RGB"), (x, y))
        while label and draw.textlength(label, font=font) > w + gap:
            label = label[:-2] + "…" if len(label) > 2 else ""
        draw.text((x, y + h + 3), label, fill="black", font=font)
    return sheet
