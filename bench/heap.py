"""Ascent steps with glibc's default malloc vs ``dreamer.runners.heap.keep_freed_memory``: time and page faults.

Each variant runs in its own process (malloc settings are per process), alternating; each
process times Lite0 steps at ``blocks.4`` (the default precision) and counts the minor page
faults they cause. Medians and the ratio are printed.

Run: ``python bench/heap.py [--size 512] [--steps 20] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(tuned: bool, size: int, steps: int) -> None:
    """In a fresh process: maybe tune malloc, warm up, then time ``steps`` steps; print JSON."""
    if tuned:
        from dreamer.runners.heap import keep_freed_memory

        assert keep_freed_memory(), "not glibc: nothing to compare"
    import torch

    from dreamer.core.objectives import layer
    from dreamer.nets.hooks import LayerHooks
    from dreamer.nets.registry import get_model

    model = get_model("lite0", precision="auto")  # what a render uses
    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    objective = layer("blocks.4")
    with LayerHooks(model, ["blocks.4"]) as run:

        def step() -> None:
            x = image.clone().requires_grad_(True)
            torch.autograd.grad(objective(run(x)).sum(), x)

        for _ in range(3):
            step()
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.perf_counter()
        for _ in range(steps):
            step()
        seconds = (time.perf_counter() - start) / steps
        faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps
    print(json.dumps({"seconds": seconds, "faults": faults, "precision": model.precision}))


def main() -> None:
    """Alternate the two variants in fresh processes and print medians and the speed-up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=["default", "tuned"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child == "tuned", args.size, args.steps)
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs: dict[str, list[dict]] = {"default": [], "tuned": []}
    for _ in range(args.repeats):
        for variant, results in runs.items():
            cmd = [sys.executable, __file__, "--child", variant, "--size", str(args.size), "--steps", str(args.steps)]
            out = subprocess.run(cmd, check=True, env=env, capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    precision = runs["default"][0]["precision"]
    print(
        f"lite0 blocks.4 at {args.size}px ({precision}), {args.steps} steps per process, "
        f"{args.repeats} alternating processes each"
    )
    med = {}
    for variant, results in runs.items():
        med[variant] = statistics.median(r["seconds"] for r in results)
        faults = statistics.median(r["faults"] for r in results)
        print(f"  {variant + ' malloc:':16} {med[variant]:.3f} s/step (median)  {faults:8.0f} page faults/step")
    print(f"  speed-up:        {med['default'] / med['tuned']:.2f}x")


if __name__ == "__main__":
    main()
