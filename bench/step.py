"""Time one ascent step: dreamer's step against the naive loop, alternating in one run.

The naive step is what most public DeepDream code does: a full forward pass with a hook on
the layer, parameters left trainable, ``loss.backward()``. Ours stops the forward at the
layer, freezes the parameters and runs channels-last. Run: ``python bench/step.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from dreamer.ascent import image_gradient
from dreamer.hooks import LayerHooks
from dreamer.models import get_model
from dreamer.objectives import layer


def naive_gradient(
    net: torch.nn.Module, module: torch.nn.Module, image: torch.Tensor, mean: torch.Tensor, std: torch.Tensor
) -> torch.Tensor:
    """Full forward with a hook, parameter gradients on, loss.backward()."""
    captured = {}
    handle = module.register_forward_hook(lambda _m, _i, out: captured.update(out=out))
    x = image.detach().clone().requires_grad_(True)
    net((x - mean) / std)
    handle.remove()
    captured["out"].pow(2).mean().backward()
    net.zero_grad(set_to_none=True)
    return x.grad


def main() -> None:
    """Alternate the two steps, print medians and the speed-up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lite0")
    parser.add_argument("--layer", default="blocks.4")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    ours = get_model(args.model, device="cpu")
    naive = get_model(args.model, device="cpu")
    naive.net.to(memory_format=torch.contiguous_format).requires_grad_(True)  # as public code leaves it
    module = naive.module(args.layer)
    objective = layer(args.layer)
    image = torch.rand(1, 3, args.size, args.size)

    times: dict[str, list[float]] = {"ours": [], "naive": []}
    with LayerHooks(ours, objective.layers) as run:
        g_ours, _ = image_gradient(run, objective, image)  # warm-up both
        g_naive = naive_gradient(naive.net, module, image, naive.mean, naive.std)
        for _ in range(args.repeats):
            t = time.perf_counter()
            image_gradient(run, objective, image)
            times["ours"].append(time.perf_counter() - t)
            t = time.perf_counter()
            naive_gradient(naive.net, module, image, naive.mean, naive.std)
            times["naive"].append(time.perf_counter() - t)
    cos = torch.nn.functional.cosine_similarity(g_ours.flatten(), g_naive.flatten(), dim=0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"{args.model} {args.layer} at {args.size}px, {torch.get_num_threads()} threads, "
        f"{args.repeats} alternating runs"
    )
    print(f"  naive step: {med['naive']:.3f} s (median)")
    print(f"  our step:   {med['ours']:.3f} s (median)")
    print(f"  speed-up:   {med['naive'] / med['ours']:.2f}x   gradient cosine ours vs naive: {float(cos):.5f}")


if __name__ == "__main__":
    main()
