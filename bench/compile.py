"""Does ``torch.compile`` pay for a render? Its compile time and step time against our eager step.

Both compute the same thing: Lite0 (default precision, batch-norm folded) cut at the dream
layer, the mean-square objective and the image gradient, at one size. Eager is our default
step (conv + ReLU6 fused by hand); the compiled variant hands inductor the separate ops to
fuse its own way. Its first call's extra time is the compile cost.
Run: ``python bench/compile.py [--size 512] [--steps 20]`` (the first run fills inductor's
on-disk cache; ``--mode`` passes a torch.compile mode).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from torch import nn

from dreamer.nets.lite0 import set_fused
from dreamer.nets.registry import get_model
from dreamer.runners.heap import keep_freed_memory


def main() -> None:
    """Time eager and compiled gradients, alternating after the compiled one's first (compiling) call."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--mode", default=None)
    args = parser.parse_args()
    keep_freed_memory()
    model = get_model("lite0", precision="auto")
    net = model.net
    trunk = nn.Sequential(net.conv_stem, net.bn1, net.act1, *list(net.blocks)[:5])  # up to blocks.4
    plain = copy.deepcopy(trunk)  # inductor does its own fusing: give it the separate ops
    set_fused(plain, False)

    def loss(image: torch.Tensor) -> torch.Tensor:
        return trunk(model.prepare(image)).float().pow(2).mean()

    def plain_loss(image: torch.Tensor) -> torch.Tensor:
        return plain(model.prepare(image)).float().pow(2).mean()

    def gradient(fn: object, image: torch.Tensor) -> torch.Tensor:
        x = image.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(fn(x), x)  # type: ignore[operator]
        return g

    image = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    compiled = torch.compile(plain_loss, mode=args.mode)
    want = gradient(loss, image)
    start = time.perf_counter()
    got = gradient(compiled, image)
    first = time.perf_counter() - start
    cos = float(nn.functional.cosine_similarity(got.flatten(), want.flatten(), dim=0))
    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(args.steps):
        for name, fn in (("eager", loss), ("compiled", compiled)):
            start = time.perf_counter()
            gradient(fn, image)
            times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(t) for name, t in times.items()}
    threads = torch.get_num_threads()
    print(f"lite0 to blocks.4 at {args.size}px ({model.precision}), {threads} threads, mode={args.mode}")
    print(f"  first compiled call: {first:.1f} s (compile + one step); gradient cosine to eager {cos:.4f}")
    print(f"  eager:    {med['eager'] * 1000:.1f} ms/step (median of {args.steps})")
    print(f"  compiled: {med['compiled'] * 1000:.1f} ms/step, {med['eager'] / med['compiled']:.2f}x eager")
    saved = med["eager"] - med["compiled"]
    if saved > 0:
        print(f"  pays after {(first - med['compiled']) / saved:.0f} steps of this size")
    else:
        print("  never pays at this size")


if __name__ == "__main__":
    main()
