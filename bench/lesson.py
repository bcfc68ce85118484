"""How long a whole lesson takes, section by section, and what batching its visualisations buys.

1. The whole ``lesson`` (bundled model, default settings) on a photo, timed per section.
2. The hierarchy's visualisations (every stage's top channels plus the top class) optimised
   as one batch vs one at a time, alternating, at fewer steps. Ratios, not absolute times,
   are what to trust on a shared CPU.
Run: ``python bench/lesson.py [--photo astronaut] [--steps 32] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from dreamer.core.objectives import channel, class_logit
from dreamer.engine import Engine
from dreamer.lecture import deep, figures, run
from dreamer.lecture.lesson import lesson
from dreamer.runners.heap import keep_freed_memory
from dreamer.samples import sample_path
from dreamer.spec.presets import LESSON_VIS as VIS


def main() -> None:
    """Time a lesson per section, then batched vs single visualisations alternately."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default="astronaut")
    parser.add_argument("--steps", type=int, default=32, help="visualisation steps in the batched/single comparison")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    keep_freed_memory()
    photo = Path(args.photo) if Path(args.photo).exists() else sample_path(args.photo)
    engine = Engine(device="cpu")
    model = engine.model("lite0")
    print(
        f"lesson on {photo.name} {Image.open(photo).size}, lite0 ({model.precision}), {torch.get_num_threads()} threads"
    )

    marks = [time.perf_counter()]
    with tempfile.TemporaryDirectory() as tmp:
        lesson(photo, Path(tmp) / "out", engine=engine, seed=1, on_section=lambda *_: marks.append(time.perf_counter()))
    from dreamer.lecture.lesson import SECTION_NAMES

    for name, a, b in zip(SECTION_NAMES, marks[:-1], marks[1:], strict=True):
        print(f"  {name:<14} {b - a:6.1f} s")
    print(f"  {'whole lesson':<14} {marks[-1] - marks[0]:6.1f} s")

    im = Image.open(photo).convert("RGB")
    stages = figures.anatomy(model).stages
    found = deep.excited(model, im, stages, 3, VIS.size)
    _, best = deep.top_classes(model, im)
    objectives = [channel(s.name, c) for s in found for c, _, _ in s.channels] + [class_logit(best)]
    vis = VIS.replace(steps=args.steps, seed=1)
    variants = {"batched": vis, "one at a time": vis.replace(batch=1)}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.repeats):
        for name, config in variants.items():
            start = time.perf_counter()
            run.visualise(engine, objectives, config)
            times[name].append(time.perf_counter() - start)
    print(
        f"hierarchy visualisations: {len(objectives)} images at {vis.size}px, {args.steps} steps, "
        f"{args.repeats} alternating runs"
    )
    for name, ts in times.items():
        print(f"  {name:<14} {statistics.median(ts):6.1f} s (median; runs {', '.join(f'{t:.1f}' for t in ts)})")
    ratio = statistics.median(times["one at a time"]) / statistics.median(times["batched"])
    print(f"  speed-up:      {ratio:.2f}x")


if __name__ == "__main__":
    main()
