"""The shipped styles, measured: each style's feature distance from the photo and from every other style.

Every bundled-model style renders each photo (the three bundled ones, plus ``--extra`` files and a
synthetic star field with ``--stars``) at ``--size`` px, seed 0, fp32 on the CPU; the distance is
``dreamer.core.likeness.feature_distance`` (Lite0 ``blocks.1`` features, 0 = the same image). It prints,
per photo, each style's distance from the photo and the closest pair of styles, then the pairwise
matrix (minimum over the photos), and with ``--sheet DIR`` writes one labelled sheet per photo to look at.
Run: ``python bench/looks.py --size 160`` (``tests/test_looks.py`` checks the same bounds at 128 px).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

from dreamer.core.likeness import feature_distance
from dreamer.core.tensors import to_pil, to_tensor
from dreamer.engine import Engine
from dreamer.outputs.sheets import labelled_grid
from dreamer.samples import sample_path
from dreamer.spec.specs import DreamSpec
from dreamer.spec.styles import load_style, style_names


def star_field(width: int = 480, height: int = 320, seed: int = 0) -> Image.Image:
    """A night sky: near-black blue with a few hundred stars of mixed brightness, slightly soft."""
    rng = np.random.default_rng(seed)
    sky = np.zeros((height, width, 3), np.float32)
    sky[..., 2] = np.linspace(0.10, 0.03, height)[:, None]
    sky[..., 1] = 0.02
    n = width * height // 400
    ys, xs = rng.integers(0, height, n), rng.integers(0, width, n)
    sky[ys, xs] = rng.uniform(0.4, 1.0, (n, 1)) * np.array([1.0, 0.97, 0.9])
    im = Image.fromarray((sky.clip(0, 1) * 255).astype(np.uint8))
    return im.filter(ImageFilter.GaussianBlur(0.6))


def lite0_styles() -> list[str]:
    """The shipped styles for the bundled model."""
    return [n for n in style_names() if load_style(n).apply().model == "lite0"]


def render_all(engine: Engine, photo: Image.Image, size: int, styles: list[str]) -> dict[str, torch.Tensor]:
    """{style: its dream as a (1, 3, H, W) tensor}; first the photo at ``size`` px; ``default``: no style."""
    photo = photo.convert("RGB")
    photo.thumbnail((size, size), Image.LANCZOS)
    out = {"photo": to_tensor(photo)}
    for name in styles:
        base = DreamSpec(max_side=size, seed=0)
        spec = base if name == "default" else load_style(name).apply(base)
        out[name] = to_tensor(engine.dream(photo, spec, provenance={"style": name}))
    return out


def main() -> None:
    """Render, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--extra", nargs="*", default=[], help="more photos to measure")
    parser.add_argument("--stars", action="store_true", help="also a synthetic star field")
    parser.add_argument("--styles", nargs="*", default=None, help="style names; `default`: no style")
    parser.add_argument("--sheet", type=Path, default=None, help="write a labelled sheet per photo here")
    args = parser.parse_args()
    torch.set_num_threads(2)
    engine = Engine(device="cpu", precision="fp32")
    model = engine.model("lite0")
    styles = args.styles or lite0_styles()
    photos = {n: Image.open(sample_path(n)) for n in ("astronaut", "chelsea", "coffee")}
    photos |= {Path(p).stem: Image.open(p) for p in args.extra}
    if args.stars:
        photos["stars"] = star_field()
    pair_min: dict[tuple[str, str], float] = {}
    started = time.perf_counter()
    for pname, photo in photos.items():
        dreams = render_all(engine, photo, args.size, styles)
        to_photo = {s: feature_distance(model, dreams["photo"], dreams[s]) for s in styles}
        print(f"{pname}: from the photo " + "  ".join(f"{s} {d:.2f}" for s, d in to_photo.items()))
        pairs = {(a, b): feature_distance(model, dreams[a], dreams[b]) for a, b in itertools.combinations(styles, 2)}
        (a, b), d = min(pairs.items(), key=lambda kv: kv[1])
        print(f"{pname}: closest pair {a}/{b} {d:.2f}")
        for key, d in pairs.items():
            pair_min[key] = min(pair_min.get(key, 9.0), d)
        if args.sheet:
            args.sheet.mkdir(parents=True, exist_ok=True)
            cells = [to_pil(dreams[k]) for k in ["photo", *styles]]
            labelled_grid(cells, ["photo", *styles], columns=7).save(args.sheet / f"{pname}.png")
    took = time.perf_counter() - started
    print(f"\npairwise distance, minimum over {len(photos)} photos ({args.size} px, {took:.0f} s)")
    print("| | " + " | ".join(styles[1:]) + " |")
    print("| --- " * len(styles) + "|")
    for i, a in enumerate(styles[:-1]):
        row = [f"{pair_min[(a, b)]:.2f}" if j > i else "" for j, b in enumerate(styles[1:], 1)]
        print(f"| {a} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
