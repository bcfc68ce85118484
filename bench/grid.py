"""Time a 16-channel feature-visualisation grid: one batch against one channel at a time, alternating.

Both variants run the same optimisation (same size, steps and transforms) on the same model
and layer; only the batch differs. Run: ``python bench/grid.py`` (add ``--steps 256`` for a
full-length grid; the time per step does not change with the step count).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from flops import conv_throughput, count_flops  # bench/flops.py, next to this script

from dreamer.core.objectives import channel
from dreamer.featvis.optimize import Cell, render_cells
from dreamer.nets.registry import get_model
from dreamer.spec.config import VisConfig


def main() -> None:
    """Alternate batched and one-at-a-time grids; print medians and the speed-up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lite0")
    parser.add_argument("--layer", default="blocks.4")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    model = get_model(args.model, device="cpu")
    cells = [Cell(channel(args.layer, c), str(c)) for c in range(args.channels)]
    variants = {"batched": args.channels, "one at a time": 1}
    warm = VisConfig(size=args.size, steps=2, seed=0)
    for batch in variants.values():
        render_cells(model, cells[: max(batch, 1)], warm.replace(batch=batch), progress=False)
    # FLOPs of one optimisation step of the whole grid: two steps minus one, so set-up cancels out
    flops = [
        count_flops(lambda n=n: render_cells(model, cells, warm.replace(steps=n, batch=args.channels), progress=False))
        for n in (1, 2)
    ]
    per_step = flops[1] - flops[0]
    peak = conv_throughput(torch.device("cpu"), model.dtype)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.repeats):
        for name, batch in variants.items():
            config = VisConfig(size=args.size, steps=args.steps, seed=r, batch=batch)
            t = time.perf_counter()
            render_cells(model, cells, config, progress=False)
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"{args.model} {args.layer}: {args.channels}-channel grid at {args.size}px, {args.steps} steps, "
        f"{torch.get_num_threads()} threads, {args.repeats} alternating runs"
    )
    print(f"  {per_step / 1e9:.1f} GFLOP per grid step; dense 3x3 conv ceiling {peak:.0f} GFLOP/s ({model.precision})")
    for name, t in med.items():
        step = t / args.steps
        print(f"  {name:<14} {t:7.2f} s per grid (median)  {step:.3f} s per step  {per_step / step / 1e9:6.1f} GFLOP/s")
    print(f"  speed-up:      {med['one at a time'] / med['batched']:.2f}x")


if __name__ == "__main__":
    main()
