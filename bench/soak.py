"""Engine soak: many renders of varied sizes, styles and precisions through one ``Engine``, in one process.

After each render the script reads the process's resident memory, its open file descriptors
(``/proc/self/fd``) and its threads (Python's and the OS's); it prints them every ``--every``
renders and sums up: memory after the warm-up (the first ``--warmup`` renders, which meet every
size and precision) against the end, and whether descriptors or threads grew. The process is set
up as the CLI and the studio set theirs (``tune_process``: glibc keeps freed buffers), so memory
climbs to the largest render's working set and should then stay there.

Renders cycle through the sizes (``--sizes``), fp32/bf16 (switched on the one engine's run
settings), the shipped styles whose model is bundled, and the three bundled photos; steps are cut
to ``--steps`` so 300 renders take minutes. ``--model real`` dreams with the bundled weights,
``random`` with random ones (the mechanics are the same).

Run: ``python bench/soak.py [--renders 300] [--model real] [--every 20] [--json FILE]``; the suite's
``tests/test_soak.py`` runs it small, with random weights, and reads the ``--json`` summary.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import threading
import time
from typing import Any

import psutil

from dreamer.engine import Engine
from dreamer.engine.styles import styles_at_hand
from dreamer.outputs.images import load_image
from dreamer.runners.startup import tune_process
from dreamer.samples import sample_names, sample_path
from dreamer.spec.styles import load_style

PRECISIONS = tuple(os.environ.get("SOAK_P", "fp32,bf16").split(","))


def counts() -> dict[str, float]:
    """The process now: resident MiB, open descriptors, Python threads, OS threads, live objects and tensors."""
    import torch

    proc = psutil.Process()
    gc.collect()
    alive = gc.get_objects()
    return {
        "objects": len(alive),
        "tensors": sum(isinstance(o, torch.Tensor) for o in alive),
        "rss": proc.memory_info().rss / 2**20,
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": threading.active_count(),
        "os_threads": proc.num_threads(),
    }


def plan(n: int, sizes: list[int], styles: list[str], photos: list[Any], steps: int) -> tuple[Any, Any, str, str]:
    """Render ``n``'s (photo, spec, precision, label): sizes cycle fastest, then precision, style and photo."""
    size = sizes[n % len(sizes)]
    precision = PRECISIONS[(n // len(sizes)) % len(PRECISIONS)]
    style = styles[n % len(styles)]
    spec = load_style(style).apply().replace(max_side=size, seed=n)
    spec = spec.replace(steps=min(spec.steps, steps), resize_back=False)
    return photos[n % len(photos)], spec, precision, f"{style} {size}px {precision}"


def main() -> None:
    """Run the soak, print the curve and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=300)
    parser.add_argument("--model", choices=("real", "random"), default="real")
    parser.add_argument("--sizes", default="64,96,128,160,192,224,256")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--json", help="also write the curve and the verdict's figures here")
    args = parser.parse_args()
    tune_process()
    engine = Engine(device="cpu", precision="fp32")
    if args.model == "random":
        import torch

        from dreamer.nets.lite0 import EfficientNetLite0
        from dreamer.nets.registry import get_spec
        from dreamer.nets.wrapper import DreamModel

        torch.manual_seed(0)
        engine.use(DreamModel(EfficientNetLite0(), get_spec("lite0"), torch.device("cpu"), precision="fp32"))
    styles = [s for s in styles_at_hand()[0] if load_style(s).apply().model == "lite0"]
    photos = [load_image(sample_path(name)) for name in sample_names()]
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{args.renders} renders, {args.model} lite0, sizes {sizes}, {'/'.join(PRECISIONS)}, styles {styles}")
    curve: list[dict[str, float]] = []
    seconds: list[float] = []
    started = time.perf_counter()
    for n in range(args.renders):
        photo, spec, precision, label = plan(n, sizes, styles, photos, args.steps)
        engine.env = engine.env.replace(precision=precision)  # the one engine: its models kept per precision
        t0 = time.perf_counter()
        engine.dream(photo, spec)
        seconds.append(time.perf_counter() - t0)
        curve.append(counts())
        if (n + 1) % args.every == 0 or n == 0:
            c = curve[-1]
            print(
                f"  after {n + 1:4d}: RSS {c['rss']:7.1f} MiB  fds {c['fds']:3.0f}  threads {c['threads']:.0f} "
                f"(OS {c['os_threads']:.0f})  last: {label}, {seconds[-1]:.2f} s"
            )
    warm, end = curve[args.warmup - 1], curve[-1]
    peak = max(c["rss"] for c in curve[args.warmup :])
    growth = end["rss"] / warm["rss"] - 1
    print(
        f"RSS after {args.warmup}: {warm['rss']:.1f} MiB, at the end: {end['rss']:.1f} MiB ({growth:+.1%}), "
        f"peak after the warm-up {peak:.1f} MiB ({peak / warm['rss'] - 1:+.1%})"
    )
    for key in ("fds", "threads", "os_threads", "objects", "tensors"):
        most = max(c[key] for c in curve)
        print(f"{key}: after {args.warmup} {warm[key]:.0f}, at the end {end[key]:.0f}, max {most:.0f}")
    print(f"median render {statistics.median(seconds):.2f} s, all {time.perf_counter() - started:.0f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"warmup": args.warmup, "curve": curve, "seconds": seconds}, f)


if __name__ == "__main__":
    main()
