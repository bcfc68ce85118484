"""Peak memory (RSS) of a 4000x3000 render with the default tiling vs a 1024 px untiled render.

Each render runs as its own ``dreamer render`` process under ``/usr/bin/time -v`` (Debian package
``time``), which reports the process's maximum resident set size. Run from the repository root:

    python bench/memory.py            # one octave, one step: memory, not looks
    python bench/memory.py --octaves 4 --steps 2
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """Run ``python -m dreamer ARGS`` under /usr/bin/time -v; returns (peak RSS in MB, seconds)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-m", "dreamer", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"render failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    kb = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if not kb:
        sys.exit("could not read the peak RSS from /usr/bin/time -v")
    return int(kb.group(1)) / 1024, seconds


def main() -> None:
    """Make the test photos, run both renders, print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--octaves", type=int, default=1)
    parser.add_argument("--steps", type=int, default=1)
    args = parser.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("needs GNU time: apt-get install time")
    photo = ROOT / "dreamer" / "assets" / "astronaut.png"
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.png"
        Image.open(photo).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC).save(big)
        common = ["--octaves", str(args.octaves), "--steps", str(args.steps), "--seed", "0", "-q"]
        runs = [
            ("4000x3000, default tile", ["--max-side", "4000"]),
            ("1024x768, untiled", ["--max-side", "1024", "--tile", "0"]),
        ]
        print(f"lite0 default layer, {args.octaves} octave(s) x {args.steps} step(s), CPU, {os.cpu_count()} cores")
        for label, extra in runs:
            out = Path(tmp) / "out.png"
            mb, seconds = peak_rss_mb(["render", str(big), "-o", str(out), *common, *extra])
            print(f"  {label:<26} peak RSS {mb / 1024:6.2f} GB   ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
