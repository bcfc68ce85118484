"""``dreamer live`` speed and steadiness: the studio's Live tab fed by a fake camera against the same loop in process.

Through the server: the studio (``dreamer.studio.serve``, bundled model) with its Live tab opened by
headless Chromium, whose fake camera plays a known pan across a photo (a ``.y4m`` clip). The page
itself counts the dreamed frames it shows and times each one from its camera frame being sent to
its dream decoded on screen (``window.dreamerLive``, the figures the page's meter shows), over a
fixed window after a warm-up. In process: ``Mirror.step`` over the same clip's frames, each one's
time. Adaptive quality is off (target 0), so each variant runs at the asked steps and size.
Variants alternate (server, in process) for each size and steps per frame. Last, the studio as it
starts (``--adaptive``: 256 px, 2 steps asked, adaptive quality holding its default 10 fps).

Flicker along the known motion: the dream's detail (dream - camera) of each frame against the last
frame's detail moved by the pan, RMS, over the RMS of the detail (0: the dream moves exactly with
the scene; about 1.4: each frame's detail is new). The live loop against dreaming each frame alone
(the same steps, and 5x the steps, about the live loop's depth).

Run: ``python bench/live.py`` (``--screenshot gallery/live/tab.png`` also saves the tab as it streams).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
import chromium  # noqa: E402  (the tests' DevTools driver)

from dreamer.engine import Engine  # noqa: E402
from dreamer.mirror.loop import Mirror  # noqa: E402
from dreamer.runners.startup import tune_process  # noqa: E402
from dreamer.samples import sample_path  # noqa: E402
from dreamer.spec.live import LiveSpec  # noqa: E402
from dreamer.spec.presets import LIVE_SPEC  # noqa: E402
from dreamer.studio import StudioConfig, serve  # noqa: E402

W, H, DX, N = 384, 288, 6, 40  # the camera's frame, its pan per frame (pixels), frames one way
FIXED = LiveSpec(target_fps=0)  # adaptive quality off: each variant runs at the asked steps and size
GRANT = "#live-camera div[title='grant webcam access'] button"
RECORD = "#live-camera button[aria-label='capture photo']"


def clip() -> list[np.ndarray]:
    """The camera panning right DX px a frame across the cat photo."""
    photo = Image.open(sample_path("chelsea")).convert("RGB")
    strip = np.asarray(photo.resize((W + N * DX, round(photo.height * (W + N * DX) / photo.width))))
    top = (strip.shape[0] - H) // 2
    return [strip[top : top + H, DX * k : DX * k + W] for k in range(N)]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet(page: chromium.DevTools, still: float = 0.6, limit: float = 10.0) -> None:
    """Wait until the page has shown no new frame for ``still`` s: the server's run thread is done with the engine."""
    end, last, since = time.monotonic() + limit, -1, time.monotonic()
    while time.monotonic() < end:
        frames = page.js("window.dreamerLive.frames")
        if frames != last:
            last, since = frames, time.monotonic()
        elif time.monotonic() - since >= still:
            return
        time.sleep(0.1)


def through_server(
    engine: Engine,
    camera: Path,
    side: int,
    steps: int,
    seconds: float,
    shot: Path | None = None,
    live: LiveSpec = FIXED,
    threads: int = 0,
) -> tuple[float, float]:
    """(fps, median latency ms) the page measures, streaming the fake camera through a fresh studio."""
    base = LIVE_SPEC.replace(max_side=side, steps=steps)
    config = StudioConfig(tab="live", live_spec=live, live_base=base, live_threads=threads)
    port = free_port()
    demo = serve(engine, config, port=port)
    try:
        browser = chromium.find()
        with (
            tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile,
            chromium.headless(browser, Path(profile), camera) as page,
        ):
            page.call("Page.navigate", url=f"http://127.0.0.1:{port}/")
            page.wait(f'!!document.querySelector("{GRANT}") && !!window.dreamerLive', 60, "the tab")
            page.js(f'document.querySelector("{GRANT}").click()')
            page.wait(f'!!document.querySelector("{RECORD}")', 30, "the camera")
            page.js(f'document.querySelector("{RECORD}").click()')
            page.wait("window.dreamerLive.frames >= 5", 60, "five frames")
            time.sleep(1.0)  # warm-up
            frames, seen = page.js("[window.dreamerLive.frames, window.dreamerLive.latency.length]")
            time.sleep(seconds)
            after, latency = page.js("[window.dreamerLive.frames, window.dreamerLive.latency]")
            if shot is not None:
                import base64

                data = page.call("Page.captureScreenshot", format="png")["data"]
                shot.parent.mkdir(parents=True, exist_ok=True)
                shot.write_bytes(base64.b64decode(data))
            page.js("document.querySelector('#live-stop').click()")
            quiet(page)
    finally:
        demo.close()
    return (after - frames) / seconds, statistics.median(latency[seen:])


def in_process(engine: Engine, frames: list[np.ndarray], side: int, steps: int) -> tuple[float, float]:
    """(fps, median ms a frame) of the same loop called directly, over the clip."""
    mirror, spec = Mirror(engine, seed=0), LIVE_SPEC.replace(max_side=side, steps=steps)
    times = [mirror.step(f, FIXED, spec).seconds for f in frames + frames[::-1]][3:]
    return 1.0 / statistics.median(times), 1000 * statistics.median(times)


def flicker(engine: Engine, frames: list[np.ndarray], side: int, steps: int, alone: bool) -> tuple[float, float]:
    """(flicker along the pan, median depth) of the live loop, or of each frame dreamed alone."""
    mirror, spec = Mirror(engine, seed=0), LIVE_SPEC.replace(max_side=side, steps=steps)
    details = []
    for frame in frames:
        if alone:
            mirror.reset()
        out = mirror.step(frame, FIXED, spec)
        camera = cv2.resize(frame, out.size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        details.append(cv2.cvtColor(out.image.astype(np.float32) / 255 - camera, cv2.COLOR_RGB2GRAY))
    dx, m = DX * details[0].shape[1] / W, 16  # the pan at the work size; a margin the shift brings in
    move = np.float32([[1, 0, -dx], [0, 1, 0]])
    ratios, depths = [], []
    for a, b in zip(details[5:], details[6:], strict=False):
        moved = cv2.warpAffine(a, move, a.shape[::-1], flags=cv2.INTER_LINEAR)
        rms = np.sqrt(np.mean(b[m:-m, m:-m] ** 2))
        ratios.append(np.sqrt(np.mean((b - moved)[m:-m, m:-m] ** 2)) / rms)
        depths.append(rms)
    return statistics.median(ratios), statistics.median(depths)


def main() -> None:
    """Time the variants alternately and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[192, 256, 320])
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0, help="measuring window per server run")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[0], help="the studio's live_threads to alternate (0: all but one)"
    )
    parser.add_argument("--adaptive", action="store_true", help="also stream with the studio's default settings")
    parser.add_argument("--screenshot", type=Path, help="also save the tab streaming at 256 px, 2 steps, here")
    args = parser.parse_args()
    tune_process()
    engine = Engine(device="cpu")
    frames = clip()
    with tempfile.TemporaryDirectory() as tmp:
        camera = Path(tmp) / "pan.y4m"
        chromium.write_y4m(camera, frames + frames[::-1], fps=30)
        print(f"cpu {engine.precision}, camera {W}x{H} panning {DX} px a frame, {args.repeats} alternating runs")
        print("| size | steps | threads | studio fps | studio latency | in-process fps | in-process ms a frame |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for side in args.sizes:
            for steps in args.steps:
                server: dict[int, list[tuple[float, float]]] = {n: [] for n in args.threads}
                local = []
                for _ in range(args.repeats):
                    for n in args.threads:
                        server[n].append(through_server(engine, camera, side, steps, args.seconds, threads=n))
                    local.append(in_process(engine, frames, side, steps))
                lfps, lms = (statistics.median(v) for v in zip(*local, strict=True))
                for n in args.threads:
                    fps, ms = (statistics.median(v) for v in zip(*server[n], strict=True))
                    name = n or f"{max(1, torch.get_num_threads() - 1)} (0)"
                    row = f"| {side} | {steps} | {name} | {fps:.1f} | {ms:.0f} ms | {lfps:.1f} | {lms:.0f} ms |"
                    print(row, flush=True)
        if args.adaptive:
            rates = [through_server(engine, camera, 256, 2, args.seconds, live=LiveSpec()) for _ in range(args.repeats)]
            fps, ms = (statistics.median(v) for v in zip(*rates, strict=True))
            held = f"adaptive quality at {LiveSpec().target_fps:g} fps"
            print(f"studio defaults (256 px, 2 steps asked, {held}): {fps:.1f} fps, {ms:.0f} ms", flush=True)
        if args.screenshot:  # last, on a warm engine, so the meters show running figures
            through_server(engine, camera, 256, 2, 8.0, shot=args.screenshot)
            print(f"screenshot: {args.screenshot}")
    print("flicker along the pan at 256 px (0: moves with the scene), median depth (RMS detail)")
    for name, steps, alone in (("live loop, 2 steps", 2, False), ("alone, 2 steps", 2, True), ("alone, 10", 10, True)):
        f, d = flicker(engine, frames, 256, steps, alone)
        print(f"  {name:20s} flicker {f:.2f}  depth {d:.3f}", flush=True)


if __name__ == "__main__":
    main()
