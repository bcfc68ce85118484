"""The lesson's HTML: one self-contained, printable page; every piece of text escaped, no network resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from dreamer.lecture.figures import Stage
from dreamer.lecture.handwork import HandWork
from dreamer.lecture.markup import STYLE, img, para, plain, section, step
from dreamer.lecture.words import GLOSSARY, PARAMS, SETTINGS, size


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
    activation: str  # what its first activation does, in words
    layer_names: str  # what the layer names the page uses mean, in words
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


def _top(d: PageData) -> str:
    """The first screen: what the page is in plain words, the photo, the contents and the glossary."""
    w, h = d.photo_size
    intro = para(
        "Every picture on this page was made by a real neural network looking at your photo. The network "
        f"learned from photos labelled by people to name what a photo shows, choosing among {d.classes} classes "
        "(kinds of thing). The page follows it step by step: first a tiny sum you can do by hand, then what the "
        "network itself computes, and at the end a dream. New words are explained in the box on the right."
    )
    small = (
        f'<p class="small">Network: {escape(d.model)}; weights file: {escape(d.weights)}. '
        "The page needs no internet connection and prints well.</p>"
    )
    nav = "".join(f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in SECTIONS)
    terms = [*GLOSSARY, ("layer names", d.layer_names)]
    words = "".join(f"<div><dt>{escape(t)}</dt>: <dd>{escape(m)}</dd></div>" for t, m in terms)
    return (
        f"<h1>How a neural network sees {escape(d.photo_name)}</h1>{intro}{small}"
        '<div class="top"><div>'
        + img("photo.png", "your photo", f"{d.photo_name}, {size(w, h)} pixels")
        + f"<nav><b>Contents</b><ol>{nav}</ol></nav></div>"
        f'<aside class="glossary" id="words"><h2>Words on this page</h2><dl>{words}</dl></aside></div>'
    )


def _early(d: PageData) -> str:
    """Sections 1 to 3: convolution by hand, the learned kernels, the photo through the first layers."""
    hw, f = d.hand, d.hand_files
    by_hand = section(
        *SECTIONS[0],
        para(
            "A computer sees an image as a grid of numbers. Here is a tiny one: an X drawn with +1 on a "
            "background of -1. A convolution slides a small grid of weights, the kernel, over the image. At each "
            "position it multiplies the nine numbers under the kernel by the nine weights and adds them up; the "
            "sums form a new grid, the feature map. This kernel is +1 along one diagonal and -1 elsewhere, so "
            "it gives its highest score (9) where the image has exactly that diagonal stroke: the feature map "
            "is a map of where the feature is."
        ),
        '<div class="steps">',
        step("the image", f["pattern"], hw.pattern, "+1 is the X, -1 the background"),
        step("the kernel", f["kernel"], hw.kernel, "one feature: a \\ stroke"),
        step("feature map", f["feature_map"], hw.feature_map, "sum of the 9 products at each position"),
        "</div>",
        para(
            "ReLU (rectified linear unit) then replaces every negative value with 0: the network only keeps "
            "the evidence that the feature is there. Max-pooling cuts the map into 2x2 blocks and keeps the "
            "largest value of each (blocks cut by the edge keep what they have). The map is half as wide and "
            "half as high, and a stroke that moves by one pixel mostly gives the same result: the network "
            "becomes less sensitive to exact positions."
        ),
        '<div class="steps">',
        step("after ReLU", f["rectified"], hw.rectified, "negatives become 0"),
        step("after 2x2 max-pooling", f["pooled"], hw.pooled, "the largest value of each block"),
        "</div>",
    )
    n, c, kh, kw = d.kernels_shape
    kernels = section(
        *SECTIONS[1],
        para(
            "A real network does not get its kernels from us: it learns them from millions of labelled photos. "
            f"These are the {n} kernels of this network's first convolution. Each is {size(kw, kh)} pixels and has "
            f"one grid of weights for each of the photo's {c} colour channels (red, green, blue): {n * c * kh * kw} "
            "weights in all. Grey is 0; each patch shows its weights scaled to its own range, so bright colours "
            "are large positive weights and their opposite colours large negative ones. Many look like edge and "
            "colour-contrast detectors."
        ),
        img(d.kernels_file, "first-layer kernels", "the first convolution's kernels, numbered"),
    )
    rows = "".join(
        img(file, what, f"{what}: {ch} channels, each {size(w, h)}; {SIGNED}")
        for what, file, (ch, h, w) in d.first_rows
    )
    w, h = d.photo_size
    first = section(
        *SECTIONS[2],
        para(
            f"Here is your photo ({size(w, h)} pixels as the network sees it) after the network's first "
            "convolution, for the channels that vary most. Each channel is one kernel's feature map: it still "
            "looks like the photo, but it lights up only where that kernel's pattern is. Then comes the "
            "activation, the step that treats each number on its own: like ReLU above, it sets the negative "
            f"(blue) values to 0, so a channel that was negative almost everywhere is almost blank after it. "
            f"{d.activation} Each row names its layer as the network's program does: {d.layer_names}"
        ),
        para(d.downsampling),
        rows,
    )
    return by_hand + kernels + first


def _late(d: PageData) -> str:
    """Sections 4 to 7: the architecture, the hierarchy of features, the classes, the dream."""
    table = "".join(
        f"<tr><td>{escape(s.name)}</td><td>{s.channels}</td><td>{size(s.width, s.height)}</td>"
        f"<td>{s.channels * s.height * s.width:,}</td></tr>"
        for s in d.stages
    )
    arch = section(
        *SECTIONS[3],
        para(
            "A network is a stack of such layers, grouped in stages. The table gives each stage's output for your "
            "photo, read from the real network as it ran: from stage to stage the maps get smaller while the "
            "number of channels (kinds of feature) grows. Deep down there are few positions but many kinds of "
            "thing the network can tell apart."
        ),
        img(
            d.diagram_file,
            "architecture diagram",
            "one block per stage: its height shows the map's size, its thickness the number of channels "
            "(both on a log scale: each halving of the map takes the same step off the height)",
        ),
        '<table class="data"><tr><th>stage</th><th>channels</th><th>map (width x height)</th>'
        f"<th>numbers (channels times width times height)</th></tr>{table}</table>",
        para(
            "At the end each map is averaged into a single number, and a last layer turns these numbers into "
            f"a score for each of the {d.classes} classes the network knows."
        ),
    )
    shapes = {s.name: s for s in d.stages}
    hier = "".join(
        f"<h3>{escape(name)}: stage {i + 1} of {len(d.hierarchy)}</h3>"
        + img(file, f"channels of {name}", _stage_caption(shapes.get(name)))
        for i, (name, file) in enumerate(d.hierarchy)
    )
    v = d.vis_settings
    how = PARAMS.get(str(v.get("param")), f"the {v.get('param')} method")
    hierarchy = section(
        *SECTIONS[4],
        para(
            "Stacked layers learn hierarchically, much as the visual cortex (the part of the brain that sees) "
            "does: the first ones respond to edges and colours, the middle ones to textures and patterns, the "
            "deep ones to parts and objects. For each stage you see the channels your photo excites most. Left "
            "of each pair: where the channel fires in your photo (bright = strong). Right: what it wants to see, "
            "an image made from noise by changing the pixels until that channel fires as much as it can "
            f"(feature visualisation). Each of those is {size(v.get('size'), v.get('size'))} pixels, made in "
            f"{v.get('steps')} steps with {how}, seed {v.get('seed')}."
        ),
        hier,
        para(
            "The same photo dreamed at each depth (DeepDream, section 7): shallow layers paint strokes and "
            "stripes, middle ones eyes and animal faces, the deepest ones fine fur and patches of colour."
        ),
        img(
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
    classes = section(
        *SECTIONS[5],
        para(
            "At the very end the network turns its features into a probability for each of its classes. These "
            "are its five best guesses for your photo. On the right, the same trick as above applied to its "
            "favourite class: an image changed until the network is as sure as it can be."
        ),
        '<div class="steps">',
        f'<table class="data"><tr><th>class</th><th>probability</th></tr>{bars}</table>',
        img(d.class_file, "class visualisation", f"what '{d.top[0][0]}' looks like to the network"),
        "</div>",
    )
    settings = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(plain(v))}</td><td>{escape(SETTINGS.get(k, ''))}</td></tr>"
        for k, v in d.dream_settings.items()
    )
    dream = section(
        *SECTIONS[6],
        para(
            "DeepDream runs the trained network on your photo and then changes the photo, step by step, so that a "
            "chosen layer fires more: whatever the layer half-recognises grows into view. It works at several "
            "sizes (octaves), small first, with a little random shift at each step."
        ),
        img(d.dream_file, "the dream", "the default DeepDream of your photo"),
        f"<p>Made with:</p><pre>{escape(d.command)}</pre>",
        f'<table class="data"><tr><th>setting</th><th>value</th><th>what it means</th></tr>{settings}</table>',
    )
    return arch + hierarchy + classes + dream


def _stage_caption(shape: Stage | None) -> str:
    pairs = "left of each pair where the channel fires in your photo, right what it wants to see; mean: how "
    pairs += "strongly it fires on average"
    return f"{shape.channels} channels, each {size(shape.width, shape.height)}; {pairs}" if shape else pairs


def render(d: PageData) -> str:
    """The whole page as a string (UTF-8 HTML5)."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>How a network sees {escape(d.photo_name)}</title><style>{STYLE}</style></head><body><main>"
        + _top(d)
        + _early(d)
        + _late(d)
        + f"<footer><p><small>Made by dreamer {escape(d.version)} in {d.seconds:.0f} s.</small></p></footer>"
        + "</main></body></html>\n"
    )
