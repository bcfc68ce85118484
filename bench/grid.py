"""Time a 16-channel feature-visualisation grid through the engine against 0.1's fp32 featvis path, alternating.

Variants (same size, steps, seed and cells; Lucid's recipe: `param="fourier"` with its transforms):
- ``engine``: ``Engine().grid`` on one kept model at the engine's precision (``auto``: bf16 on CPUs with
  native bf16), folded and fused convs, the recipe as one resample to a fixed size, all cells in one batch;
- ``engine at fp32``: the same at fp32, to separate the two gains;
- ``fp32 featvis (0.1)``: what ``dreamer.grid`` did in 0.1: the model loaded at fp32 on every call and
  0.1's transform chain (``bench/lucid01.py``: a new input size every step), one batch;
- ``fp32, one at a time`` (``--single``): 0.1's path with one channel per optimisation (the batching bench).
It also writes the engine's and the fp32 grid side by side (``--sheet``) to compare their look.
Run: ``python bench/grid.py`` (``--steps 256`` for a full-length grid; time per step does not depend on steps).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from unittest import mock

import lucid01  # bench/lucid01.py: 0.1's transforms, the baseline
import torch
from flops import conv_throughput  # bench/flops.py, next to this script
from PIL import Image

from dreamer.core.objectives import channel
from dreamer.engine import Engine
from dreamer.featvis import optimize
from dreamer.featvis.optimize import render_cells
from dreamer.nets.registry import get_model
from dreamer.outputs.sheets import labelled_grid
from dreamer.spec.specs import VisSpec


def main() -> None:
    """Alternate the variants; print medians and the speed-ups."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default="blocks.4")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--single", action="store_true", help="also time one channel at a time (slow)")
    parser.add_argument("--sheet", type=Path, default=Path("out/bench/grid_engine_vs_fp32.png"))
    args = parser.parse_args()

    engine = Engine(device="cpu")
    engine32 = Engine(device="cpu", precision="fp32")
    chans = list(range(args.channels))
    objectives = [channel(args.layer, c) for c in chans]

    def run_featvis(spec: VisSpec) -> list[Image.Image]:
        model = get_model("lite0", device="cpu", precision="fp32")  # 0.1 loaded the model on every call
        with mock.patch.object(optimize, "standard_transforms", lucid01.standard_transforms):
            return render_cells(model, objectives, spec, torch.Generator().manual_seed(spec.seed or 0))

    variants = {
        "engine": lambda spec: [engine.grid(spec, layer=args.layer, channels=chans)],
        "engine at fp32": lambda spec: [engine32.grid(spec, layer=args.layer, channels=chans)],
        "fp32 featvis (0.1)": run_featvis,
    }
    if args.single:
        variants["fp32, one at a time"] = lambda spec: run_featvis(spec.replace(batch=1))
    warm = VisSpec(param="fourier", size=args.size, steps=2, seed=0, batch=args.channels)
    for fn in variants.values():
        fn(warm)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.repeats):
        for name, fn in variants.items():
            spec = VisSpec(param="fourier", size=args.size, steps=args.steps, seed=r, batch=args.channels)
            t = time.perf_counter()
            fn(spec)
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"lite0 {args.layer}: {args.channels}-channel grid at {args.size}px, {args.steps} steps, "
        f"{torch.get_num_threads()} threads, {args.repeats} alternating runs; engine precision {engine.precision}"
    )
    print(f"  dense 3x3 conv ceiling: fp32 {conv_throughput(torch.device('cpu'), torch.float32):.0f} GFLOP/s")
    for name, t in med.items():
        print(f"  {name:<20} {t:7.2f} s per grid (median)  {t / args.steps:.3f} s per step")
    base = med["fp32 featvis (0.1)"]
    print(f"  engine vs fp32 featvis (0.1): {base / med['engine']:.2f}x")
    print(f"  engine at fp32 vs fp32 featvis (0.1): {base / med['engine at fp32']:.2f}x (the fixed-size transforms)")
    if args.single:
        print(f"  batched fp32 vs one at a time: {med['fp32, one at a time'] / base:.2f}x")

    spec = VisSpec(param="fourier", size=args.size, steps=args.steps, seed=0, batch=args.channels)
    ours = engine.grid(spec, layer=args.layer, channels=chans, columns=args.channels // 2)
    old = labelled_grid(run_featvis(spec), [f"{args.layer}:{c}" for c in chans], args.channels // 2)
    both = Image.new("RGB", (ours.width, ours.height + old.height + 8), "white")
    both.paste(ours, (0, 0))
    both.paste(old, (0, ours.height + 8))
    args.sheet.parent.mkdir(parents=True, exist_ok=True)
    both.save(args.sheet)
    print(f"  sheet (engine above, fp32 below): {args.sheet}")


if __name__ == "__main__":
    main()
