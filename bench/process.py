"""Whole-process time: ``dreamer render`` against the naive standalone script, same work.

Both take a 512 px photo through one octave of 40 steps at ``blocks.4`` and save a PNG:
start-up (imports), model load, the steps and the save all count. Runs alternate; medians
and their ratio are printed. Then start-up alone: ``dreamer --help`` and ``dreamer render --help``
in fresh processes, alternating (with the same commands of another checkout, ``--baseline DIR``,
e.g. 0.1's or main's), medians of ``--help-repeats`` runs.

Run: ``python bench/process.py [--repeats 5] [--precision bf16] [--help-repeats 9] [--baseline DIR]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "dreamer" / "assets" / "astronaut.png"


def timed(cmd: list[str], root: Path = ROOT) -> float:
    """Seconds one process takes from start to exit (it must succeed), running the code at ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=root, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def help_times(repeats: int, baseline: Path | None) -> None:
    """Print the medians of ``dreamer --help`` and ``dreamer render --help``, each a fresh process, alternating."""
    roots = {"this code": ROOT, **({"baseline": baseline} if baseline else {})}
    commands = {"dreamer --help": ["--help"], "dreamer render --help": ["render", "--help"]}
    times: dict[tuple[str, str], list[float]] = {(c, r): [] for c in commands for r in roots}
    for _ in range(repeats):
        for (command, code), runs in times.items():
            runs.append(timed([sys.executable, "-m", "dreamer", *commands[command]], roots[code]))
    about = f" (baseline: {baseline})" if baseline else ""
    print(f"start-up alone, {repeats} alternating fresh processes each{about}")
    for (command, code), runs in times.items():
        print(
            f"  {command:<22} {code + ':':<12} {statistics.median(runs):.2f} s "
            f"(median; runs {', '.join(f'{t:.2f}' for t in runs)})"
        )


def main() -> None:
    """Alternate the two processes, print medians and the speed-up, then the ``--help`` start-up times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--precision", default=None, help="passed to dreamer render (default: its own default)")
    parser.add_argument("--help-repeats", type=int, default=9, help="fresh processes per --help timing")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout whose --help is timed too")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ours = [sys.executable, "-m", "dreamer", "render", str(PHOTO), "-o", f"{tmp}/ours.png", "--octaves", "1"]
        ours += ["--steps", str(args.steps), "-l", "blocks.4", "--max-side", "512", "--seed", "0", "-q"]
        ours += ["--precision", args.precision] if args.precision else []
        naive = [sys.executable, str(ROOT / "bench" / "naive_dream.py"), str(PHOTO), f"{tmp}/naive.png"]
        naive += ["--steps", str(args.steps)]
        times: dict[str, list[float]] = {"ours": [], "naive": []}
        for _ in range(args.repeats):
            times["naive"].append(timed(naive))
            times["ours"].append(timed(ours))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"whole process, {PHOTO.name} 512x512, 1 octave x {args.steps} steps at blocks.4, "
        f"{args.repeats} alternating runs"
    )
    print(f"  naive script:   {med['naive']:.2f} s (median; runs {', '.join(f'{t:.1f}' for t in times['naive'])})")
    print(f"  dreamer render: {med['ours']:.2f} s (median; runs {', '.join(f'{t:.1f}' for t in times['ours'])})")
    print(f"  speed-up:       {med['naive'] / med['ours']:.2f}x")
    help_times(args.help_repeats, args.baseline)


if __name__ == "__main__":
    main()
