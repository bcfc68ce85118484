"""Do class visualisations made on Lite0 carry over to other networks? fourier vs maco in one run.

Each variant optimises the same classes on the bundled Lite0 (one batch), then each image is
scored under 8 random views (crop 80-100%, rotation within ±10 degrees, resized to the judge's
input size) by Lite0 itself and by EfficientNet-Lite1 and -Lite2. A class counts as recognised
when it is in the top 5 in at least half of the views. Variants alternate over seeds. Run::

    PYTHONPATH=$PWD python bench/transfer.py [--size 128 --seeds 2]
    PYTHONPATH=$PWD python bench/transfer.py --variant maco:crops=6 --variant maco:lr=0.5
"""

from __future__ import annotations

import argparse
import time

import torch

from dreamer.core.objectives import class_logit
from dreamer.core.tensors import to_tensor
from dreamer.featvis.cells import class_index
from dreamer.featvis.judge import top5_hits
from dreamer.featvis.optimize import render_cells
from dreamer.nets.registry import get_model
from dreamer.spec.specs import VisSpec

CLASSES = "goldfish,flamingo,school bus,daisy,pizza,lemon,strawberry,monarch,jellyfish,volcano,golden retriever,castle"


def parse_variant(text: str) -> tuple[str, dict[str, object]]:
    """``maco:crops=6,lr=0.5`` -> ("maco:crops=6,lr=0.5", {"param": "maco", "crops": 6, "lr": 0.5})."""
    name, _, rest = text.partition(":")
    knobs: dict[str, object] = {"param": name}
    for part in filter(None, rest.split(",")):
        key, _, value = part.partition("=")
        knobs[key] = float(value) if "." in value else int(value) if value.isdigit() else value
    return text, knobs


def main() -> None:
    """Render each variant, score it with the three networks, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", default=CLASSES)
    parser.add_argument("--size", type=int, default=VisSpec().size)
    parser.add_argument("--steps", type=int, help="[default: each parametrisation's own (maco 128, fourier 256)]")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--variant", action="append", help="PARAM[:KEY=VALUE,...]; default fourier and maco")
    args = parser.parse_args()
    variants = dict(parse_variant(v) for v in (args.variant or ["fourier", "maco"]))
    model = get_model("lite0", device="cpu", precision="fp32")
    judges = {name: get_model(name, device="cpu", precision="fp32") for name in ("lite1", "lite2")}
    names = [c.strip() for c in args.classes.split(",")]
    idx = [class_index(model, n) for n in names]
    objectives = [class_logit(i) for i in idx]
    rows: dict[str, dict[str, list[float]]] = {v: {"s": []} for v in variants}
    for seed in range(args.seeds):
        for name, knobs in variants.items():
            config = VisSpec(size=args.size, steps=args.steps, seed=seed, batch=len(objectives)).replace(**knobs)
            rows[name]["steps"] = [config.step_count]
            t = time.perf_counter()
            images = render_cells(model, objectives, config, torch.Generator().manual_seed(seed))
            rows[name]["s"].append(time.perf_counter() - t)
            x = torch.cat([to_tensor(im.convert("RGB")) for im in images])
            for judge, net in {"lite0": model, **judges}.items():
                hits = top5_hits(net, x, idx, seed=seed)
                rows[name].setdefault(judge, []).append(sum(h >= 0.5 for h in hits))
                rows[name].setdefault(judge + " views", []).append(sum(hits) / len(hits))
    print(
        f"{len(objectives)} classes on lite0 at {args.size}px, {args.seeds} seeds; "
        "classes in the top 5 (in >= half of 8 views), per seed"
    )
    print(f"  {'variant':28s} steps {'lite0 (own)':>14s} {'lite1':>14s} {'lite2':>14s}  view share l0/l1/l2   s/run")
    for name, r in rows.items():
        counts = "".join(f"{'/'.join(str(c) for c in r[j]):>15s}" for j in ("lite0", "lite1", "lite2"))
        share = "/".join(f"{sum(r[j + ' views']) / len(r[j + ' views']):.2f}" for j in ("lite0", "lite1", "lite2"))
        print(f"  {name:28s} {r['steps'][0]:5d}{counts}  {share:>19s} {sum(r['s']) / len(r['s']):7.1f}")


if __name__ == "__main__":
    main()
