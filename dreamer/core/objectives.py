"""The objective algebra: what gradient ascent maximises.

An ``Objective`` maps captured activations ``{layer: (B, C, H, W)}`` to one score per
image ``(B,)``. We always *maximise*; a negative weight suppresses a feature. Objectives
declare the layers they read, so only those get hooks, and they compose::

    obj = layer("blocks.4") + 0.5 * channel("blocks.3", 7) - layer("blocks.2")

The CLI spelling of the same thing is ``LAYER[CHANNELS][@POSITION][:WEIGHT]`` (see ``parse_spec``).
Every sum of weighted ``layer``, ``channel``, ``neuron`` and ``class_logit`` terms is also *data*: its
``terms`` are those spellings (``blocks.4``, ``blocks.3[7]@mean:0.5``, ``logits[207]@mean``), which
the spec's ``layers`` knob carries into a PNG's metadata, so ``--replay`` rebuilds the same objective.
An objective built from a Python function has no terms and cannot be replayed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import torch

from dreamer.errors import DreamerError
from dreamer.nets.wrapper import LOGITS

Acts = dict[str, torch.Tensor]


Term = tuple[str, float]  # (a spec without its weight, e.g. "blocks.4[7]@mean", the weight)


def _spelled(term: Term) -> str:
    base, weight = term
    return base if weight == 1.0 else f"{base}:{weight!r}"


class Objective:
    """A score to maximise, computed from named activations, one value per image."""

    def __init__(
        self,
        fn: Callable[[Acts], torch.Tensor],
        layers: Iterable[str],
        name: str,
        terms: tuple[Term, ...] | None = None,
    ) -> None:
        self.fn = fn
        self.layers = tuple(dict.fromkeys(layers))
        self.name = name
        self._terms = terms

    @property
    def terms(self) -> tuple[str, ...] | None:
        """The objective as layer specs whose sum it is (``parse_specs`` rebuilds it), or None for a function."""
        return None if self._terms is None else tuple(_spelled(t) for t in self._terms)

    def __call__(self, acts: Acts) -> torch.Tensor:
        """Per-image scores, shape (B,)."""
        return self.fn(acts)

    def __repr__(self) -> str:
        return f"Objective({self.name})"

    def __add__(self, other: Objective | float) -> Objective:
        if isinstance(other, (int, float)):  # a constant moves the score, never the gradient: the terms stay
            return Objective(lambda a: self(a) + other, self.layers, f"{self.name} + {other}", self._terms)
        terms = None if self._terms is None or other._terms is None else self._terms + other._terms
        name = f"{self.name} + {other.name}"
        return Objective(lambda a: self(a) + other(a), self.layers + other.layers, name, terms)

    def __radd__(self, other: float) -> Objective:
        return self if other == 0 else self + other  # so sum() works

    def __neg__(self) -> Objective:
        return -1.0 * self

    def __sub__(self, other: Objective | float) -> Objective:
        return self + (-other)

    def __mul__(self, k: float) -> Objective:
        if not isinstance(k, (int, float)):
            return NotImplemented
        terms = None if self._terms is None else tuple((base, k * w) for base, w in self._terms)
        return Objective(lambda a: k * self(a), self.layers, f"{k:g} * ({self.name})", terms)

    __rmul__ = __mul__


def _pick_channels(act: torch.Tensor, layer_name: str, channels: Sequence[int] | None) -> torch.Tensor:
    if not channels:
        return act
    n = act.shape[1]
    bad = [c for c in channels if c >= n]
    if bad:
        raise DreamerError(
            f"{layer_name}: channel {bad[0]} out of range (the layer has {n}: 0-{n - 1})", field="layers"
        )
    return act[:, list(channels)]


def layer(name: str, channels: Sequence[int] | None = None) -> Objective:
    """DeepDream's objective: mean squared activation of a layer (optionally some channels)."""
    chans = tuple(channels or ())

    def fn(acts: Acts) -> torch.Tensor:
        act = _pick_channels(acts[name], name, chans).float()
        return act.pow(2).flatten(1).mean(1)

    label = f"{name}[{','.join(map(str, chans))}]" if chans else name
    return Objective(fn, [name], label, ((label, 1.0),))


def channel(name: str, c: int) -> Objective:
    """Mean activation of one channel: what feature visualisation maximises."""

    def fn(acts: Acts) -> torch.Tensor:
        return _pick_channels(acts[name], name, [c]).float().flatten(1).mean(1)

    return Objective(fn, [name], f"{name}:{c}", ((f"{name}[{c}]@mean", 1.0),))


def neuron(name: str, c: int, y: int | None = None, x: int | None = None) -> Objective:
    """One spatial position of one channel (the centre unless given)."""

    def fn(acts: Acts) -> torch.Tensor:
        act = _pick_channels(acts[name], name, [c]).float()[:, 0]
        h, w = act.shape[-2:]
        yy, xx = h // 2 if y is None else y, w // 2 if x is None else x
        if not (0 <= yy < h and 0 <= xx < w):
            raise DreamerError(f"{name}[{c}]@{yy},{xx}: position outside the layer's {h}x{w} grid here", field="layers")
        return act[:, yy, xx]

    if (y is None) != (x is None):
        raise DreamerError(f"{name}[{c}]: give both y and x of the neuron, or neither (the centre)", field="layers")
    where = "center" if y is None else f"{y},{x}"
    return Objective(fn, [name], f"{name}:{c}@{where}", ((f"{name}[{c}]@{where}", 1.0),))


def guide(name: str, features: torch.Tensor) -> Objective:
    """Pull each position toward the guide's best-matching feature vector (the original's guide objective).

    ``features`` are the guide image's activations at ``name``, (C, H, W) or (1, C, H, W). For every
    position of the dream, the guide vector with the largest dot product is chosen (held fixed for
    the step) and the dot product with it is maximised, so the gradient at that position is that
    guide vector, as in the original notebook.
    """
    guide_vectors = features.detach().float().reshape(features.shape[-3], -1)  # (C, M)

    def fn(acts: Acts) -> torch.Tensor:
        act = acts[name].float().flatten(2)  # (B, C, N)
        g = guide_vectors.to(act.device)
        with torch.no_grad():
            best = torch.einsum("bcn,cm->bnm", act, g).argmax(-1)  # (B, N): best guide position per dream position
        matched = g.t()[best]  # (B, N, C)
        return (act.transpose(1, 2) * matched).sum(-1).mean(1)

    return Objective(fn, [name], f"guide({name})")


def class_logit(index: int) -> Objective:
    """The network's logit for one class."""

    def fn(acts: Acts) -> torch.Tensor:
        return acts[LOGITS][:, index].float()

    return Objective(fn, [LOGITS], f"class {index}", ((f"{LOGITS}[{index}]@mean", 1.0),))


def per_image(objectives: Sequence[Objective]) -> Objective:
    """Objective i scores image i of the batch: one optimisation renders a whole grid of features.

    A batch k times as long (k views of each image, image-major) gives objective i views i*k to i*k+k-1.
    """
    objs = tuple(objectives)

    def fn(acts: Acts) -> torch.Tensor:
        n = next(iter(acts.values())).shape[0]
        if n % len(objs):
            raise ValueError(f"per_image: batch of {n} images for {len(objs)} objectives")
        k = n // len(objs)
        return torch.cat([o({a: v[i * k : i * k + k] for a, v in acts.items()}) for i, o in enumerate(objs)])

    return Objective(fn, [name for o in objs for name in o.layers], f"per_image({', '.join(o.name for o in objs)})")


_SPEC = re.compile(
    r"^\s*(?P<neg>-)?(?P<layer>[A-Za-z_][\w.]*)"
    r"(?:\[(?P<ch>[^\]]*)\])?"
    r"(?:@(?P<pos>[^:]*))?"
    r"(?::(?P<w>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))?\s*$"
)

MAX_WEIGHT = 1e4  # larger weights overflow float32 activations' gradients long before they mean anything
SPEC_HELP = (
    "LAYER[CHANNELS][:WEIGHT], e.g. blocks.4, blocks.3:0.5, blocks.4[3,17,40-47], "
    "blocks.2:-1 or -blocks.2 (a negative weight suppresses); one neuron: LAYER[C]@center or LAYER[C]@Y,X; "
    "one channel's mean activation: LAYER[C]@mean (logits[C]@mean: a class)"
)


def parse_channels(text: str, field: str = "channels", spec: str | None = None) -> list[int]:
    """``"3,17,40-47"`` -> ``[3, 17, 40, ..., 47]``; anything else is an error naming ``field`` (and ``spec``)."""
    where = f"`{field}` {spec}" if spec is not None else f"`{field}`"
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise DreamerError(f"{where}: bad channel list {text!r} (use e.g. 3,17,40-47)", field=field)
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if hi < lo:
            raise DreamerError(f"{where}: bad range {part!r} in {text!r} (the end is before the start)", field=field)
        if hi - lo > 100_000:
            raise DreamerError(f"{where}: range {part!r} is too long", field=field)
        out.extend(range(lo, hi + 1))
    return list(dict.fromkeys(out))


def _parse_neuron(text: str, name: str, chans: list[int] | None, pos: str) -> Objective:
    """``LAYER[C]@center`` or ``LAYER[C]@Y,X`` -> a neuron objective; ``LAYER[C]@mean`` -> the channel's."""
    if chans is None or len(chans) != 1:
        raise DreamerError(f"{text}: a neuron needs exactly one channel, e.g. {name}[7]@center", field="layers")
    if pos.strip() == "center":
        return neuron(name, chans[0])
    if pos.strip() == "mean":
        return class_logit(chans[0]) if name == LOGITS else channel(name, chans[0])
    m = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*", pos)
    if not m:
        raise DreamerError(f"{text}: bad neuron position {pos!r} (use @center, @Y,X or @mean)", field="layers")
    return neuron(name, chans[0], int(m.group(1)), int(m.group(2)))


def parse_spec(text: str) -> Objective:
    """One ``LAYER[CHANNELS][@POSITION][:WEIGHT]`` spec -> weighted layer or neuron objective."""
    m = _SPEC.match(text)
    if not m:
        raise DreamerError(f"`layers`: cannot read {text!r}; expected {SPEC_HELP}", field="layers")
    weight = float(m.group("w")) if m.group("w") else 1.0
    if not abs(weight) <= MAX_WEIGHT:  # also catches inf and nan
        raise DreamerError(
            f"{text}: the weight must be a number between -{MAX_WEIGHT:g} and {MAX_WEIGHT:g}", field="layers"
        )
    if m.group("neg"):
        weight = -weight
    name = m.group("layer")
    chans = parse_channels(m.group("ch"), "layers", text) if m.group("ch") is not None else None
    pos = m.group("pos")
    obj = layer(name, chans) if pos is None else _parse_neuron(text, name, chans, pos)
    return obj if weight == 1.0 else weight * obj


def parse_specs(specs: Iterable[str]) -> Objective:
    """Several specs -> their sum."""
    objs = [parse_spec(s) for s in specs]
    if not objs:
        raise DreamerError("`layers`: give at least one layer", field="layers")
    return sum(objs[1:], objs[0])
