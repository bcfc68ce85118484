"""A full default render of a 512 px photo at each precision: time, and the dream's activation gain.

The gain is the dream layer's objective (mean squared activation) on the final image over the
same on the input, both measured with the exact fp32 model, so precisions are compared on the
same ruler. Renders alternate between precisions; medians are printed, with the render's FLOPs
(every ascent step's convs) and the GFLOP/s reached next to the machine's dense conv ceiling.
The dreams are saved (``--out``) so they can be compared side by side by eye.

Run: ``python bench/render.py`` (bundled astronaut photo, 512x512, default settings).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from flops import conv_throughput, count_flops  # bench/flops.py, next to this script

from dreamer.core.ascent import image_gradient
from dreamer.core.objectives import Objective, parse_specs
from dreamer.core.octaves import octave_sizes
from dreamer.core.tensors import to_tensor
from dreamer.engine import Engine
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.precision import DTYPES
from dreamer.nets.wrapper import DreamModel
from dreamer.outputs.images import load_image, save_image
from dreamer.samples import sample_path
from dreamer.spec.specs import DreamSpec


def render_flops(model: DreamModel, objective: Objective, config: DreamSpec, size: tuple[int, int]) -> float:
    """FLOPs of a render's ascent steps: one step counted at each octave's size, times the steps."""
    total = 0.0
    with LayerHooks(model, objective.layers) as run:
        for h, w in octave_sizes(size[1], size[0], config.octaves, config.octave_scale):
            image = torch.rand(1, 3, h, w)
            total += config.steps * count_flops(lambda image=image: image_gradient(run, objective, image))
    return total


def main() -> None:
    """Alternate renders at each precision; print times, gains and the gain ratio to fp32."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default=str(sample_path("astronaut")))
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out/bench"))
    args = parser.parse_args()

    precisions = args.precisions.split(",")
    engines = {p: Engine(device="cpu", precision=p) for p in precisions}
    engines.setdefault("fp32", Engine(device="cpu", precision="fp32"))
    loaded = load_image(args.photo)
    config = DreamSpec(seed=args.seed)
    specs = engines["fp32"].resolved(config).layers
    model = engines["fp32"].model(config.model)  # the exact ruler for every gain
    objective = parse_specs(specs)
    for p in precisions:
        engines[p].use(model)
        engines[p].model(config.model)  # cast once, before timing

    def score(image: torch.Tensor) -> float:
        with torch.no_grad(), LayerHooks(model, objective.layers) as run:
            return float(objective(run(image)).mean())

    before = score(to_tensor(loaded.rgb))
    flops = render_flops(model, objective, config, loaded.rgb.size)
    peaks = {p: conv_throughput(torch.device("cpu"), DTYPES[p]) for p in precisions}
    times: dict[str, list[float]] = {p: [] for p in precisions}
    gains: dict[str, float] = {}
    args.out.mkdir(parents=True, exist_ok=True)
    for _ in range(args.repeats):
        for p in precisions:
            t = time.perf_counter()
            out = engines[p].dream(loaded, config)
            times[p].append(time.perf_counter() - t)
            gains[p] = score(to_tensor(out)) / before
            save_image(out, args.out / f"{Path(args.photo).stem}_{p}.png")
    w, h = loaded.rgb.size
    print(
        f"default render of {Path(args.photo).name} ({w}x{h}), {config.octaves} octaves x {config.steps} steps "
        f"at {specs}, {torch.get_num_threads()} threads, {args.repeats} alternating runs; gains measured in fp32"
    )
    print(
        f"  {flops / 1e9:.0f} GFLOP per render (ascent steps); dense 3x3 conv ceiling: "
        + ", ".join(f"{p} {g:.0f} GFLOP/s" for p, g in peaks.items())
    )
    ref = gains.get("fp32")
    for p in precisions:
        med = statistics.median(times[p])
        rel = f"  gain vs fp32 {gains[p] / ref:.3f}" if ref else ""
        print(f"  {p}: {med:6.2f} s (median, {flops / med / 1e9:5.1f} GFLOP/s)  activation gain {gains[p]:.3f}{rel}")
    print(f"  images: {', '.join(str(args.out / f'{Path(args.photo).stem}_{p}.png') for p in precisions)}")


if __name__ == "__main__":
    main()
