"""Looks, measured: ``gentle`` stays near the photo and every pair of shipped styles stays apart.

The yardstick is ``dreamer.core.likeness.feature_distance`` (the bundled Lite0's ``blocks.1`` features;
0 = the same image). Renders are small and seeded; the pairwise check caps each style's steps per
octave at ``QUICK_STEPS`` (its layers, octaves, step size, smoothing and colour knobs stay) so the
whole file runs in about a minute on two cores. ``bench/looks.py`` measures the same at full steps.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from PIL import Image

from dreamer.core.likeness import feature_distance
from dreamer.core.tensors import to_tensor
from dreamer.engine import Engine
from dreamer.samples import sample_path
from dreamer.spec.specs import DreamSpec
from dreamer.spec.styles import load_style, style_names

pytestmark = pytest.mark.slow

PHOTOS = ("astronaut", "chelsea", "coffee")
SIDE = 96
QUICK_STEPS = 3
GENTLE_BOUND = 0.5  # gentle, at its full steps, moves no further than this from any bundled photo
PAIR_THRESHOLD = 0.6  # any two shipped styles are at least this far apart on every bundled photo


def _photo(name: str) -> Image.Image:
    im = Image.open(sample_path(name)).convert("RGB")
    im.thumbnail((SIDE, SIDE), Image.LANCZOS)
    return im


def _lite0_styles() -> list[str]:
    return [n for n in style_names() if load_style(n).apply().model == "lite0"]


def _render(engine: Engine, photo: Image.Image, style: str, cap: int | None) -> torch.Tensor:
    spec = load_style(style).apply(DreamSpec(max_side=SIDE, seed=0))
    if cap is not None:
        spec = spec.replace(steps=min(spec.steps, cap))
    return to_tensor(engine.dream(photo, spec))


@pytest.mark.parametrize("name", PHOTOS)
def test_gentle_keeps_every_bundled_photo_recognisable(name: str, real_engine: Engine, real_model) -> None:
    photo = _photo(name)
    d = feature_distance(real_model, to_tensor(photo), _render(real_engine, photo, "gentle", None))
    assert d < GENTLE_BOUND, f"gentle moved {name} {d:.2f} from the photo (bound {GENTLE_BOUND})"


@pytest.mark.parametrize("name", PHOTOS)
def test_every_pair_of_shipped_styles_is_distinguishable(name: str, real_engine: Engine, real_model) -> None:
    photo = _photo(name)
    dreams = {s: _render(real_engine, photo, s, QUICK_STEPS) for s in _lite0_styles()}
    close = {
        f"{a}/{b}": round(d, 2)
        for a, b in itertools.combinations(dreams, 2)
        if (d := feature_distance(real_model, dreams[a], dreams[b])) <= PAIR_THRESHOLD
    }
    assert close == {}, f"on {name}, styles closer than {PAIR_THRESHOLD}: {close}"
