"""Engine soak at CI size: many varied renders through one ``Engine`` leak nothing.

Sizes, styles and precisions vary, in a fresh process (``bench/soak.py`` with random weights);
memory, descriptors, threads and tensors are watched.

The full run (300 renders with the bundled weights) and its curve are in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOAK = ROOT / "bench" / "soak.py"


def soak(tmp_path: Path, *args: str) -> dict:
    """Run the soak in a fresh interpreter; its JSON summary."""
    out = tmp_path / "soak.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}  # leaks, not speed: one thread
    command = [sys.executable, str(SOAK), "--model", "random", "--every", "1000", "--json", str(out), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text())


def test_a_hundred_renders_through_one_engine_leak_nothing(tmp_path: Path) -> None:
    # 40 renders meet every size x precision x style x photo combination once (a cycle of 24): the
    # engine's models and caches are all made by then. From there on nothing may grow: tensors,
    # descriptors and threads not at all, live Python objects by a handful at most (what one render
    # holds while it runs), and resident memory, where the allocator keeps freed buffers and
    # fragments a little while shapes vary, by a few percent (it levels off: bench/RESULTS.md).
    result = soak(tmp_path, "--renders", "100", "--warmup", "40", "--sizes", "48,64,80,96", "--steps", "2")
    curve, warm = result["curve"], result["warmup"]
    after = curve[warm - 1]
    assert len(curve) == 100 and after["fds"] > 0 and after["tensors"] > 0
    for key in ("tensors", "fds", "threads", "os_threads"):
        assert max(c[key] for c in curve[warm:]) <= after[key], (key, [c[key] for c in curve])
    assert max(c["objects"] for c in curve[warm:]) <= after["objects"] + 50, [c["objects"] for c in curve]
    grown = max(c["rss"] for c in curve[warm:]) - after["rss"]
    assert grown < 0.06 * after["rss"], f"RSS grew {grown:.1f} MiB after {warm} renders: {[c['rss'] for c in curve]}"
