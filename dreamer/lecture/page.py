"""The lesson's HTML: one self-contained, printable page; every piece of text escaped, no network resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

import numpy as np

from dreamer.lecture.figures import Stage
from dreamer.lecture.handwork import HandWork

STYLE = """
body { font: 16px/1.5 Georgia, 'DejaVu Serif', serif; color: #222; margin: 0; background: #fdfdfb; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 2em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
p { max-width: 46em; } code, pre { font: 14px 'DejaVu Sans Mono', monospace; background: #f1f1ec; }
pre { padding: 8px 12px; white-space: pre-wrap; }
img { max-width: 100%; height: auto; } figure { margin: 12px 0; } figcaption { color: #555; font-size: 0.9em; }
.steps { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.steps figure { margin: 0; } .pair { display: flex; gap: 10px; align-items: flex-start; margin-top: 4px; }
table.grid { border-collapse: collapse; font: 13px 'DejaVu Sans Mono', monospace; }
table.grid td { border: 1px solid #bbb; width: 1.9em; height: 1.55em; padding: 0; text-align: center; }
td.neg { color: #1d4fd8; } td.pos { color: #b91c1c; font-weight: bold; }
table.data { border-collapse: collapse; } table.data td, table.data th { padding: 2px 10px; text-align: left; }
table.data tr:nth-child(even) { background: #f1f1ec; }
.bar { display: inline-block; height: 0.9em; background: #b45309; vertical-align: middle; }
nav ol { columns: 2; }
@media print { body { background: white; } main { max-width: none; padding: 0; }
  section, figure, table { break-inside: avoid; } h2 { break-after: avoid; } nav { display: none; } }
"""


@dataclass(frozen=True)
class PageData:
    """Everything the page shows: file names of the figures beside it and the numbers written next to them."""

    photo_name: str
    model: str
    weights: str
    photo_size: tuple[int, int]
    hand: HandWork
    hand_files: dict[str, str]
    kernels_file: str
    kernels_shape: tuple[int, ...]
    first_rows: list[tuple[str, str, tuple[int, ...]]]  # (what, file, (C, h, w))
    downsampling: str  # how this network halves its maps, in words
    stages: list[Stage]
    diagram_file: str
    classes: int
    hierarchy: list[tuple[str, str]]  # (stage, file)
    sweep_file: str
    top: list[tuple[str, float]]
    class_file: str
    dream_file: str
    dream_settings: dict[str, object]
    command: str
    vis_settings: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0
    version: str = ""


def _table(grid: np.ndarray) -> str:
    rows = []
    for row in grid:
        cells = "".join(f'<td class="{"neg" if v < 0 else "pos" if v > 0 else "zero"}">{int(v)}</td>' for v in row)
        rows.append(f"<tr>{cells}</tr>")
    return f'<table class="grid">{"".join(rows)}</table>'


def _step(title: str, file: str, grid: np.ndarray, note: str) -> str:
    h, w = grid.shape
    return (
        f"<figure><figcaption><b>{escape(title)}</b> ({h}x{w}): {escape(note)}</figcaption>"
        f'<div class="pair"><img src="{escape(file)}" alt="{escape(title)}">{_table(grid)}</div></figure>'
    )


def _img(file: str, alt: str, caption: str = "") -> str:
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{escape(file)}" alt="{escape(alt)}">{cap}</figure>'


def _plain(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def _p(text: str) -> str:
    return f"<p>{escape(text)}</p>"


SIGNED = "blue = negative, white = 0, red = positive; each channel keeps one colour scale from row to row"
SECTIONS = (
    ("by-hand", "1. Convolution by hand"),
    ("kernels", "2. The network's own kernels"),
    ("first-layers", "3. Your photo through the first layers"),
    ("architecture", "4. The architecture as data"),
    ("hierarchy", "5. Hierarchy: from edges to objects"),
    ("classes", "6. What the network thinks"),
    ("dream", "7. The dream"),
)


def render(d: PageData) -> str:
    """The whole page as a string (UTF-8 HTML5)."""
    hw, f = d.hand, d.hand_files
    by_hand = _section(
        *SECTIONS[0],
        _p(
            "A computer sees an image as a grid of numbers. Here is a tiny one: an X drawn with +1 on a "
            "background of -1. A convolution slides a small grid of weights, the kernel, over the image. At each "
            "position it multiplies the nine numbers under the kernel by the nine weights and adds them up; the "
            "sums form a new grid, the feature map. This kernel is +1 along one diagonal and -1 elsewhere, so "
            "it gives its highest score (9) where the image has exactly that diagonal stroke: the feature map "
            "is a map of where the feature is."
        ),
        '<div class="steps">',
        _step("the image", f["pattern"], hw.pattern, "+1 is the X, -1 the background"),
        _step("the kernel", f["kernel"], hw.kernel, "one feature: a \\ stroke"),
        _step("feature map", f["feature_map"], hw.feature_map, "sum of the 9 products at each position"),
        "</div>",
        _p(
            "ReLU (rectified linear unit) then replaces every negative value with 0: the network only keeps "
            "the evidence that the feature is there. Max-pooling cuts the map into 2x2 blocks and keeps the "
            "largest value of each (blocks cut by the edge keep what they have). The map is half as wide and "
            "half as high, and a stroke that moves by one pixel mostly gives the same result: the network "
            "becomes less sensitive to exact positions."
        ),
        '<div class="steps">',
        _step("after ReLU", f["rectified"], hw.rectified, "negatives become 0"),
        _step("after 2x2 max-pooling", f["pooled"], hw.pooled, "the largest value of each block"),
        "</div>",
    )
    kernels = _section(
        *SECTIONS[1],
        _p(
            f"A real network does not get its kernels from us: it learns them from millions of labelled photos. "
            f"These are the {d.kernels_shape[0]} kernels of {d.model}'s first convolution, each "
            f"{d.kernels_shape[2]}x{d.kernels_shape[3]} pixels over the red, green and blue channels "
            f"(weights shape {' x '.join(map(str, d.kernels_shape))}). Grey is 0; each patch shows its weights "
            "scaled to its own range, so bright colours are large positive weights and their opposite colours "
            "large negative ones. Many look like edge and colour-contrast detectors."
        ),
        _img(d.kernels_file, "first-layer kernels", "the first convolution's kernels, numbered"),
    )
    rows = "".join(
        _img(file, what, f"{what}: {c} channels of {h}x{w}; {SIGNED}") for what, file, (c, h, w) in d.first_rows
    )
    first = _section(
        *SECTIONS[2],
        _p(
            f"Here is your photo ({d.photo_size[0]}x{d.photo_size[1]} pixels as the network sees it) after the "
            "first convolution, for the channels that vary most. Each channel is one kernel's feature map: it "
            "still looks like the photo, but it lights up only where that kernel's pattern is. Then the "
            "activation sets the negative (blue) values to 0, like ReLU above (this network's ReLU6 also caps "
            "values at 6): a channel that was negative almost everywhere is almost blank after it."
        ),
        _p(d.downsampling),
        rows,
    )
    table = "".join(
        f"<tr><td>{escape(s.name)}</td><td>{s.channels}</td><td>{s.height} x {s.width}</td>"
        f"<td>{s.channels * s.height * s.width:,}</td></tr>"
        for s in d.stages
    )
    arch = _section(
        *SECTIONS[3],
        _p(
            "A network is a stack of such layers. The table gives each stage's output for your photo, read from "
            "the real network as it ran: the maps get smaller while the number of channels (features) grows. "
            "Deep down there are few positions but many kinds of thing the network can tell apart."
        ),
        _img(
            d.diagram_file, "architecture diagram", "height of each slab = map size, thickness = channels (log scale)"
        ),
        '<table class="data"><tr><th>stage</th><th>channels</th><th>map (h x w)</th><th>numbers</th></tr>'
        f"{table}</table>",
        _p(
            "At the end each map is averaged into a single number, and a last layer turns these numbers into "
            f"a score for each of the {d.classes} classes the network knows."
        ),
    )
    hier = "".join(f"<h3>{escape(name)}</h3>" + _img(file, f"channels of {name}", "") for name, file in d.hierarchy)
    hierarchy = _section(
        *SECTIONS[4],
        _p(
            "Stacked layers learn hierarchically, much as the visual cortex does: the first ones respond to "
            "edges and colours, the middle ones to textures and patterns, the deep ones to parts and objects. "
            "For each stage you see the channels your photo excites most. Left of each pair: where the channel "
            "fires in your photo (bright = strong). Right: what it wants to see, an image made from noise by "
            "changing the pixels until that channel fires as much as it can (feature visualisation)."
        ),
        hier,
        _p("Visualisation settings: " + ", ".join(f"{k} {v}" for k, v in d.vis_settings.items()) + "."),
        _p(
            "The same photo dreamed at each depth (DeepDream, section 7): shallow layers paint strokes and "
            "stripes, middle ones eyes and animal faces, the deepest ones fine fur and patches of colour."
        ),
        _img(
            d.sweep_file,
            "the photo dreamed at each stage",
            "the photo, then one dream per stage (same seed and settings)",
        ),
    )
    bars = "".join(
        f'<tr><td>{escape(name)}</td><td><span class="bar" style="width:{round(300 * p)}px"></span> '
        f"{100 * p:.1f}%</td></tr>"
        for name, p in d.top
    )
    classes = _section(
        *SECTIONS[5],
        _p(
            "At the very end the network turns its features into a probability for each of its classes. These "
            "are its five best guesses for your photo. On the right, the same trick as above applied to its "
            "favourite class: an image changed until the network is as sure as it can be."
        ),
        '<div class="steps">',
        f'<table class="data"><tr><th>class</th><th>probability</th></tr>{bars}</table>',
        _img(d.class_file, "class visualisation", f"what '{d.top[0][0]}' looks like to the network"),
        "</div>",
    )
    settings = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(_plain(v))}</td></tr>" for k, v in d.dream_settings.items()
    )
    dream = _section(
        *SECTIONS[6],
        _p(
            "DeepDream runs the trained network on your photo and then changes the photo, step by step, so that a "
            "chosen layer fires more: whatever the layer half-recognises grows into view. It works at several "
            "scales (octaves), small first, with a little random shift at each step."
        ),
        _img(d.dream_file, "the dream", "the default DeepDream of your photo"),
        f"<p>Made with:</p><pre>{escape(d.command)}</pre>",
        f'<table class="data">{settings}</table>',
    )
    nav = "".join(f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in SECTIONS)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>How a network sees {escape(d.photo_name)}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>How a convolutional network sees {escape(d.photo_name)}</h1>"
        + _p(
            f"Every picture below was made by a real trained network, {d.model} ({d.weights}), looking at your "
            "photo. The page needs no internet connection and prints well."
        )
        + _img("photo.png", "your photo", f"{d.photo_name}, {d.photo_size[0]}x{d.photo_size[1]}")
        + f"<nav><ol>{nav}</ol></nav>"
        + by_hand
        + kernels
        + first
        + arch
        + hierarchy
        + classes
        + dream
        + f"<footer><p><small>Made by dreamer {escape(d.version)} in {d.seconds:.0f} s.</small></p></footer>"
        + "</main></body></html>\n"
    )
