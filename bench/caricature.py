"""How like the photo is a caricature? Activation cosine at the optimised layer and at layers left out.

For each photo (longer side ``--size``) each variant optimises a caricature at ``--layer`` on the bundled
Lite0, then the cosine between the image's and the photo's whole activations is measured at every
``--judge`` layer (the optimised one and others). Baselines: a MACO image from noise with no steps (what
chance gives) and the photo itself (1.0, the ceiling). ``maco p0`` is the plain dot product (no cosine
term). Variants alternate per photo; times are medians. Run::

    PYTHONPATH=$PWD python bench/caricature.py [--size 128 --layer blocks.4 --judge blocks.2,blocks.4,blocks.6]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from PIL import Image

from dreamer.core.tensors import to_tensor
from dreamer.featvis.caricature import caricaturize, layer_cosines
from dreamer.nets.registry import get_model
from dreamer.outputs.images import fit_max_side
from dreamer.samples import sample_path
from dreamer.spec.specs import VisSpec

VARIANTS = {  # name -> (VisSpec knobs, power)
    "noise (maco, 0 steps)": ({"param": "maco", "steps": 0}, 2.0),
    "maco p2": ({"param": "maco"}, 2.0),
    "maco p0 (plain dot)": ({"param": "maco"}, 0.0),
    "fourier p2": ({"param": "fourier"}, 2.0),
}


def main() -> None:
    """Caricature each photo with each variant; print the cosines per judged layer, averaged over photos."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default="chelsea,astronaut,coffee")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--layer", default="blocks.4")
    parser.add_argument("--judge", default="blocks.2,blocks.4,blocks.6")
    args = parser.parse_args()
    model = get_model("lite0", device="cpu", precision="fp32")
    judged = args.judge.split(",")
    cos: dict[str, dict[str, list[float]]] = {v: {j: [] for j in judged} for v in VARIANTS}
    seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for seed, name in enumerate(args.photos.split(",")):
        rgb = Image.open(sample_path(name)).convert("RGB")
        photo = to_tensor(rgb.resize(fit_max_side(rgb.size, args.size), Image.Resampling.LANCZOS))
        for variant, (knobs, power) in VARIANTS.items():
            spec = VisSpec(size=args.size, seed=seed).replace(**knobs)
            t = time.perf_counter()
            image, _ = caricaturize(
                model, photo, ((args.layer, 1.0),), spec, power=power, generator=torch.Generator().manual_seed(seed)
            )
            seconds[variant].append(time.perf_counter() - t)
            for j, c in layer_cosines(model, image, photo, judged).items():
                cos[variant][j].append(c)
    print(f"caricatures at {args.layer}, lite0, {args.size}px, photos {args.photos}: activation cosine to the photo")
    heads = "".join(f"{j + (' (opt)' if j == args.layer else ''):>16s}" for j in judged)
    print(f"  {'variant':24s}{heads}  s/run")
    for variant in VARIANTS:
        row = "".join(f"{statistics.mean(cos[variant][j]):16.3f}" for j in judged)
        print(f"  {variant:24s}{row}  {statistics.median(seconds[variant]):5.1f}")
    print(f"  {'the photo (ceiling)':24s}" + "".join(f"{1.0:16.3f}" for _ in judged))


if __name__ == "__main__":
    main()
