"""Time one ascent step: dreamer's fast paths against the naive loop, alternating in one run.

The naive step is what most public DeepDream code does: a full forward pass with a hook on
the layer, parameters left trainable, ``loss.backward()``. Ours stops the forward at the
layer, freezes the parameters, runs channels-last, folds batch-norm into the convolutions, fuses
Lite0's conv + ReLU6 pairs into one oneDNN kernel and (``bf16``) runs the network in bfloat16
with an fp32 image and gradient. Every variant is timed
round-robin in the same run; medians and ratios are printed, with FLOPs per step
(``torch.utils.flop_counter``), the achieved GFLOP/s, the machine's measured dense conv
throughput, and each variant's gradient cosine against the exact fp32 gradient.

Run: ``python bench/step.py`` (lite0 at 512 px) or ``python bench/step.py --suite``
(lite0, googlenet and vgg16 at 512 and 1024 px; torchvision models with random weights).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from flops import conv_throughput, count_flops, sync  # bench/flops.py, next to this script

from dreamer.core.ascent import image_gradient
from dreamer.core.objectives import layer
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.lite0 import set_fused
from dreamer.nets.precision import DTYPES
from dreamer.nets.registry import get_spec
from dreamer.nets.wrapper import DreamModel

# name -> (stop at the layer + frozen, channels-last, fold batch-norm, fuse conv + ReLU6 (lite0), precision)
VARIANTS: dict[str, tuple[bool, bool, bool, bool, str]] = {
    "naive": (False, False, False, False, "fp32"),
    "stopped+frozen": (True, False, False, False, "fp32"),
    "+channels-last": (True, True, False, False, "fp32"),
    "+folded": (True, True, True, False, "fp32"),
    "+fused (fp32)": (True, True, True, True, "fp32"),
    "+bf16": (True, True, True, True, "bf16"),
    "+fp16": (True, True, True, True, "fp16"),
}
SUITE = [("lite0", 512, 10), ("lite0", 1024, 5), ("googlenet", 512, 8), ("googlenet", 1024, 4)]
SUITE += [("vgg16", 512, 4), ("vgg16", 1024, 2)]


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


def build(name: str, device: torch.device, variant: str) -> DreamModel:
    """A fresh copy of the model set up as the variant wants (torchvision ones with random weights)."""
    _, channels_last, fold, fuse, precision = VARIANTS[variant]
    spec = get_spec(name)
    torch.manual_seed(0)
    net = spec.build() if name == "lite0" else spec.architecture()
    model = DreamModel(net, spec, device, precision=precision, fold_bn=fold)
    set_fused(model.net, fuse)
    if not channels_last:
        model.channels_last = False
        model.net.to(memory_format=torch.contiguous_format)
    if variant == "naive":
        model.net.requires_grad_(True)  # as public code leaves it
    return model


def step_function(
    model: DreamModel, variant: str, layer_name: str
) -> tuple[Callable[[torch.Tensor], torch.Tensor], LayerHooks | None]:
    """A function image -> gradient for the variant (ours keeps its hooks registered across steps)."""
    if variant == "naive":
        module = model.module(layer_name)
        return (lambda image: naive_gradient(model.net, module, image, model.mean, model.std)), None
    objective = layer(layer_name)
    hooks = LayerHooks(model, objective.layers).__enter__()
    return (lambda image: image_gradient(hooks, objective, image)[0]), hooks


def bench_one(name: str, layer_name: str, size: int, repeats: int, device: torch.device, variants: list[str]) -> None:
    """Alternate every variant ``repeats`` times on one model, layer and size; print the table."""
    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    fns, hooks, flops, grads = {}, [], {}, {}
    for v in variants:
        model = build(name, device, v)
        fns[v], h = step_function(model, v, layer_name)
        hooks += [h] if h else []
        grads[v] = fns[v](image).float()  # warm-up, and the gradient to compare
        flops[v] = count_flops(lambda v=v: fns[v](image)) if device.type == "cpu" or v != "+fp16" else float("nan")
    times: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(repeats):
        for v in variants:
            sync(device)
            t = time.perf_counter()
            fns[v](image)
            sync(device)
            times[v].append(time.perf_counter() - t)
    for h in hooks:
        h.remove()
    ref = grads.get("+folded", grads[variants[-1]])
    base = statistics.median(times["naive"]) if "naive" in times else None
    print(f"\n{name} {layer_name} at {size}px on {device_name(device)}, {repeats} alternating runs")
    print(f"  {'variant':<16} {'s/step':>8} {'vs naive':>9} {'GFLOP':>7} {'GFLOP/s':>8} {'grad cos':>9}")
    for v in variants:
        med = statistics.median(times[v])
        cos = torch.nn.functional.cosine_similarity(grads[v].flatten(), ref.flatten(), dim=0)
        ratio = f"{base / med:8.2f}x" if base else ""
        gf = flops[v] / 1e9
        print(f"  {v:<16} {med:8.3f} {ratio:>9} {gf:7.1f} {gf / med:8.1f} {float(cos):9.4f}")


def device_name(device: torch.device) -> str:
    """The device in words, with the thread count on CPU."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def main() -> None:
    """Parse options, print the machine's conv throughput, then each model's table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lite0")
    parser.add_argument("--layer", default=None, help="default: the model's dream layer")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", default=None, help=f"comma-separated subset of: {', '.join(VARIANTS)}")
    parser.add_argument("--suite", action="store_true", help="lite0, googlenet, vgg16 at 512 and 1024 px")
    args = parser.parse_args()

    device = torch.device(args.device)
    variants = (
        args.variants.split(",") if args.variants else [v for v in VARIANTS if v != "+fp16" or device.type == "cuda"]
    )
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    peaks = {p: conv_throughput(device, DTYPES[p]) for p in DTYPES if p != "fp16" or device.type == "cuda"}
    print(
        f"torch {torch.__version__}; dense 3x3 conv throughput on {device_name(device)}: "
        + ", ".join(f"{p} {g:.0f} GFLOP/s" for p, g in peaks.items())
    )
    runs = SUITE if args.suite else [(args.model, args.size, args.repeats)]
    for name, size, repeats in runs:
        layer_name = args.layer if args.layer and not args.suite else get_spec(name).dream_layers[0]
        bench_one(name, layer_name, size, repeats, device, variants)


if __name__ == "__main__":
    main()
