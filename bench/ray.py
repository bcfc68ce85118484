"""Ray executor overhead: per-job time on Ray against the local executor, and Ray's start-up cost.

The same small jobs (the bundled photo, one style, tiny renders so overhead dominates) run on the
local executor and on one Ray actor with the same thread count, alternating. Per-job time is the
median gap between consecutive results, so model loading and actor start-up are left out; the
difference is Ray's per-job overhead (shipping the photo, the task round trip, the PNG back,
writing it and its thumbnail). Start-up: ``ray.init`` of a local cluster, and the time to the
first result beyond the local executor's.

Run: ``python bench/ray.py [--jobs 12] [--repeats 3] [--max-side 64]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [
    p for p in sys.path if Path(p or ".").resolve() != HERE
]  # this file is named ray.py: import the real one

import argparse  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402


def timed_run(executor: object, jobs: list, out: Path) -> tuple[float, list[float]]:
    """(seconds to the first result, gaps between the following results) for one run."""
    started = time.perf_counter()
    stamps = []
    for result in executor.run(jobs, out):
        assert result.status == "done", result.error
        stamps.append(time.perf_counter())
    return stamps[0] - started, [b - a for a, b in zip(stamps, stamps[1:], strict=False)]


def main() -> None:
    """Alternate local and Ray runs of the same jobs; print per-job medians, overhead and start-up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-side", type=int, default=64)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import ray
    import torch

    from dreamer.runners.local import LocalExecutor
    from dreamer.runners.plan import plan_jobs
    from dreamer.runners.ray import RayExecutor
    from dreamer.samples import sample_path
    from dreamer.spec.specs import RunEnv
    from dreamer.spec.styles import load_style

    torch.set_num_threads(args.threads)
    env = RunEnv(device="cpu", precision="fp32")
    with tempfile.TemporaryDirectory() as tmp:
        photos = []
        for i in range(args.jobs):  # distinct files (names), same pixels: same work per job
            photos.append(Path(tmp) / f"photo{i}.png")
            shutil.copy(sample_path("chelsea"), photos[-1])
        overrides = {"max_side": args.max_side, "steps": args.steps, "octaves": 1}
        jobs = plan_jobs(photos, [load_style("classic")], overrides)
        t = time.perf_counter()
        ray.init(address="local", num_cpus=args.threads, include_dashboard=False, log_to_driver=False)
        init = time.perf_counter() - t
        first: dict[str, list[float]] = {"local": [], "ray": []}
        gaps: dict[str, list[float]] = {"local": [], "ray": []}
        try:
            for r in range(args.repeats):
                on_ray = RayExecutor(workers=1, cpus_per_worker=args.threads, env=env)
                for name, ex in (("local", LocalExecutor(env)), ("ray", on_ray)):
                    out = Path(tmp) / f"{name}{r}"
                    out.mkdir()
                    f, g = timed_run(ex, jobs, out)
                    first[name].append(f)
                    gaps[name].extend(g)
        finally:
            ray.shutdown()
    med = {k: statistics.median(v) for k, v in gaps.items()}
    start = {k: statistics.median(v) for k, v in first.items()}
    print(
        f"{args.jobs} jobs of chelsea at {args.max_side}px, {args.steps} steps, 1 octave; {args.threads} threads; "
        f"{args.repeats} alternating runs (one Ray actor)"
    )
    print(f"  per job, local: {med['local']:.3f} s   ray: {med['ray']:.3f} s   (median gap between results)")
    print(f"  Ray overhead per job: {med['ray'] - med['local']:+.3f} s")
    print(
        f"  start-up: ray.init (local cluster) {init:.1f} s; first result local {start['local']:.1f} s, "
        f"ray {start['ray']:.1f} s (actor start + model load): +{start['ray'] - start['local']:.1f} s"
    )


if __name__ == "__main__":
    main()
