"""Would batching same-size gallery renders pay? Ascent steps on a batch of N images vs N single steps.

A gallery renders many photos at the same work size; they could share one forward and
backward pass per step. This times exactly that step (bundled model, default layer and
precision, the process's heap tuned as the CLI does) for a batch of N against N separate
images, alternating, at each size. Run: ``python bench/batch.py [--batch 4] [--sizes 256,512,1024]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from dreamer.core.ascent import image_gradient
from dreamer.core.objectives import layer
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.registry import get_model
from dreamer.runners.heap import keep_freed_memory


def main() -> None:
    """Alternate one batched step with N single steps at each size; print per-image times and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    keep_freed_memory()
    model = get_model("lite0", precision="auto")
    objective = layer(model.spec.dream_layers[0])
    print(
        f"lite0 {objective.layers[0]} ({model.precision}), batch of {args.batch} vs {args.batch} single steps, "
        f"{torch.get_num_threads()} threads, {args.repeats} alternating runs"
    )
    with LayerHooks(model, objective.layers) as run:
        for size in (int(s) for s in args.sizes.split(",")):
            images = torch.rand(args.batch, 3, size, size, generator=torch.Generator().manual_seed(0))
            variants = {
                "batched": lambda im=images: image_gradient(run, objective, im),
                "one at a time": lambda im=images: [image_gradient(run, objective, x[None]) for x in im],
            }
            for fn in variants.values():
                fn()  # warm-up
            times: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.repeats):
                for name, fn in variants.items():
                    start = time.perf_counter()
                    fn()
                    times[name].append((time.perf_counter() - start) / args.batch)
            med = {name: statistics.median(t) for name, t in times.items()}
            print(
                f"  {size:5d} px: batched {med['batched'] * 1000:7.1f} ms/image-step, "
                f"one at a time {med['one at a time'] * 1000:7.1f}, "
                f"speed-up {med['one at a time'] / med['batched']:.2f}x"
            )


if __name__ == "__main__":
    main()
