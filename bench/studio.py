"""Streaming overhead of the studio: a default 512 px render through the web app against the same render in process.

The studio runs as its own process (``dreamer studio``, as a user starts it); this script is its
client (``gradio_client``, which, like a browser, uploads the photo and fetches each streamed
preview). In-process renders run in a second process of their own (this script with
``--renderer``, after the same process settings the CLI makes), with the studio's previews asked
for (``preview_every`` as the studio sets it) and without, so neither side shares a process with
the HTTP client. Variants alternate; medians are printed.

Run: ``python bench/studio.py`` (bundled astronaut, 512x512, default settings, seed 0).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from gradio_client import Client, handle_file

from dreamer.cli.process import tune_process
from dreamer.engine import Engine
from dreamer.engine.events import Step
from dreamer.outputs.images import load_image
from dreamer.samples import sample_path
from dreamer.spec.schema import to_dict
from dreamer.spec.specs import DreamSpec
from dreamer.studio.config import StudioConfig


def in_process(engine: Engine, photo: Path, spec: DreamSpec, every: int) -> tuple[float, float]:
    """(seconds to the first preview, total seconds) of one render in this process, photo read from disk."""
    started = time.perf_counter()
    first: list[float] = []

    def on_event(event: Any) -> None:
        if isinstance(event, Step) and event.preview is not None and not first:
            first.append(time.perf_counter() - started)

    engine.dream(load_image(photo), spec, on_event=on_event if every else None, preview_every=every)
    total = time.perf_counter() - started
    return (first[0] if first else float("nan")), total


def through_studio(client: Client, photo: Path, spec: DreamSpec) -> tuple[float, float]:
    """(seconds to the first streamed preview, total seconds) of one render through the studio."""
    started = time.perf_counter()
    job = client.submit(
        photo=handle_file(str(photo)), painted_mask=None, style="(none)", **to_dict(spec), api_name="/render"
    )
    first = None
    while not job.done():
        if first is None and any(o[1].startswith("step") for o in job.outputs()):
            first = time.perf_counter() - started
        time.sleep(0.01)
    status = job.result()[1]
    total = time.perf_counter() - started
    if not status.startswith("done"):
        raise RuntimeError(status)
    return (first if first is not None else float("nan")), total


def renderer(photo: Path, device: str, spec: DreamSpec) -> None:
    """The in-process side: one render per line on stdin (the preview interval), timings on stdout."""
    tune_process()  # the process-wide settings `dreamer studio` makes too (glibc keeps freed buffers)
    engine = Engine(device=device)
    print(engine.precision, flush=True)
    for line in sys.stdin:
        first, total = in_process(engine, photo, spec, int(line))
        print(first, total, flush=True)


def main() -> None:
    """Start the studio and a renderer, alternate their renders, print medians and the overhead."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=sample_path("astronaut"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--renderer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    spec = DreamSpec(seed=0)
    if args.renderer:
        renderer(args.photo, args.device, spec)
        return
    every = max(1, min(StudioConfig().preview_steps, spec.steps // 2))  # what the studio asks for
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, "-m", "dreamer", "studio", "--port", str(port), "--device", args.device]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    own = [sys.executable, __file__, "--renderer", "--photo", str(args.photo), "--device", args.device]
    local = subprocess.Popen(own, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert local.stdin is not None and local.stdout is not None
    precision = local.stdout.readline().strip()

    def in_own_process(every: int) -> tuple[float, float]:
        local.stdin.write(f"{every}\n")
        local.stdin.flush()
        first, total = local.stdout.readline().split()
        return float(first), float(total)

    try:
        client = None
        deadline = time.time() + 120
        while client is None and time.time() < deadline:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.5)
        assert client is not None, "the studio did not start"
        through_studio(client, args.photo, spec)  # warm-up: model loaded, kernels made, in both
        in_own_process(every)
        runs: dict[str, list[tuple[float, float]]] = {"studio": [], "in process, previews": [], "in process": []}
        for _ in range(args.repeats):
            runs["studio"].append(through_studio(client, args.photo, spec))
            runs["in process, previews"].append(in_own_process(every))
            runs["in process"].append(in_own_process(0))
    finally:
        server.terminate()
        local.stdin.close()
        server.wait(timeout=30)
        local.wait(timeout=30)
    w, h = load_image(args.photo).rgb.size
    print(
        f"default render of {args.photo.name} ({w}x{h}), {spec.octaves} octaves x {spec.steps} steps, "
        f"{args.device} {precision}, preview every {every} steps, {args.repeats} alternating runs"
    )
    medians = {k: (statistics.median(f for f, _ in v), statistics.median(t for _, t in v)) for k, v in runs.items()}
    for name, (first, total) in medians.items():
        shown = "" if first != first else f"first preview {first:5.2f} s  "  # NaN: no previews asked for
        runs_text = ", ".join(f"{t:.2f}" for _, t in runs[name])
        print(f"  {name:<21} {shown:<26}total {total:5.2f} s (runs {runs_text})")
    base = medians["in process"][1]
    print(f"  streaming overhead: {medians['studio'][1] / base - 1:+.1%} of the in-process render")


if __name__ == "__main__":
    main()
