"""The lesson's words for a class: the glossary, the plain meaning of each dream setting, the one size format.

Every size the page or a figure writes goes through ``size`` (width x height, as image programs show
it); every technical word a caption uses is in ``GLOSSARY`` or explained in the sentence around it.
"""

from __future__ import annotations

from collections.abc import Sequence


def size(width: int, height: int) -> str:
    """A picture's or map's size as the page writes it: width x height, as image programs show it."""
    return f"{width}x{height}"


GLOSSARY: tuple[tuple[str, str], ...] = (
    ("pixel", "one dot of a picture. Sizes on this page are width x height in pixels, as image programs show them."),
    ("neural network", "a program made of many simple steps of arithmetic; its numbers were learned from examples."),
    ("layer", "one of those steps. Each has a name in the network's program (see 'layer names')."),
    ("weights", "the numbers a network learned in training; the weights file stores them."),
    ("channel", "one grid of numbers laid over the picture: a photo has 3 (red, green, blue), a layer one per kernel."),
    ("kernel", "a small grid of weights that looks for one pattern, such as an edge."),
    ("convolution", "sliding a kernel over the picture, multiplying and adding at each position."),
    ("feature map", "the grid a convolution gives: high where its kernel's pattern is."),
    (
        "activation",
        "a step after a convolution that changes each number on its own (such as ReLU); also the "
        "numbers a layer puts out: how strongly it fires.",
    ),
    ("ReLU, ReLU6", "rectified linear unit: negative numbers become 0. ReLU6 also caps them at 6."),
    ("max-pooling", "keeping the largest number of each 2x2 block: the map gets half as wide and half as high."),
    ("stage", "a group of layers that works at one map size; the network's maps shrink from stage to stage."),
    ("class", "one of the kinds of thing the network can name."),
    ("feature visualisation", "a picture made from noise, changed step by step until one channel fires strongly."),
    (
        "fourier",
        "a way to make those pictures: the noise is built from stripes of many sizes instead of pixel by "
        "pixel, which gives smoother pictures.",
    ),
    ("DeepDream", "changing a photo step by step so that a layer fires more: what it half-sees grows into view."),
    ("octave", "one of the sizes a dream works at, smallest first."),
    ("seed", "the number behind the random choices: the same seed gives the same pictures."),
)


def layer_names(conv: str, pre: str, act: str | None, batch_norm: bool, stages: Sequence[str], head: str | None) -> str:
    """What this network's layer names on the page mean, in one sentence for the glossary."""
    out = f"{conv} is the first convolution"
    if pre != conv:
        out += f"; {pre} its output" + (
            " after batch normalisation (bn: a rescaling of each channel)" if batch_norm else ""
        )
    if act:
        out += f"; {act} that output after its activation"
    if stages:
        first = stages[0].rsplit(".", 1)
        counted = " (counted from 0)" if len(first) == 2 and first[1] == "0" else ""
        out += f"; {stages[0]} to {stages[-1]} are its {len(stages)} stages{counted}"
    if head:
        out += f"; {head} is its last convolution"
    return out + ". These are the names dreamer's -l option takes."


# What the page says about the activation after the first convolution, by its module's class name.
ACTIVATIONS: dict[str, str] = {
    "ReLU": "This network's activation is ReLU: negative numbers become 0.",
    "ReLU6": "This network's activation is ReLU6: like ReLU, and it also caps values at 6.",
    "SiLU": "This network's activation is SiLU, a smooth ReLU: large negative numbers become almost 0.",
    "Hardswish": "This network's activation is hard-swish, a smooth ReLU: negative numbers become 0 or nearly.",
    "GELU": "This network's activation is GELU, a smooth ReLU: large negative numbers become almost 0.",
    "LeakyReLU": "This network's activation is leaky ReLU: negative numbers are made much smaller, not 0.",
}

# How each visualisation parametrisation makes its pictures, in plain words.
PARAMS: dict[str, str] = {
    "fourier": "the fourier method (the noise is built from stripes of many sizes: smoother pictures)",
    "pixel": "the pixel method (every pixel changed on its own)",
    "maco": "the maco method (only the picture's stripe phases change; their strengths come from real photos)",
}

# The dream's settings as the page's table shows them, in plain words (their exact meaning: `dreamer render --help`).
SETTINGS: dict[str, str] = {
    "model": "the network",
    "layers": "the layer whose activity the dream makes stronger",
    "octaves": "how many sizes the dream works at, smallest first",
    "octave_scale": "how much bigger each size is than the one before",
    "steps": "changes made to the picture at each size",
    "step_size": "how big each change is",
    "jitter": "random shift in pixels before each change (undone after), against grid patterns",
    "smooth": "how the changes are blurred before they are applied",
    "seed": "the number behind the random choices",
    "max_side": "the photo's longer side in pixels while dreaming",
}
