"""The studio under load: waves of browser sessions against one ``dreamer studio`` process; its memory per wave.

The studio runs as a user starts it (``dreamer studio``, bundled model, CPU), in its own process so
its resident memory is its own. Each wave opens ``--sessions`` new sessions at once (the pages of
``tests/studio_page.py``: uploads, queue joins, one event stream each); each session uploads its own
photo and renders it ``--renders`` times with its own seed, odd sessions pressing Stop midway
through their second render and every third session pressing Stop while its third one still waits
in the queue. Every render must end as it should (done, stopped, or dropped before it started) and
show only that session's photo and seed. After each wave the server's RSS and thread count are
printed; the server must still serve after the last.

Run: ``python bench/studio_load.py [--waves 10] [--sessions 8] [--renders 3] [--side 96]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from studio_page import App, Page  # noqa: E402 - the tests' page, shared

from dreamer.outputs.metadata import read_metadata  # noqa: E402
from dreamer.samples import sample_path  # noqa: E402
from dreamer.spec.schema import to_dict  # noqa: E402
from dreamer.spec.specs import DreamSpec  # noqa: E402

DROPPED_START = "stopped before it started"


def photo_for(folder: Path, i: int) -> Path:
    """Session ``i``'s photo: the cat, its colours turned by ``i`` (so a mix-up would show)."""
    cat = Image.open(sample_path("chelsea")).convert("RGB").resize((192, 128))
    hsv = cat.convert("HSV").split()
    hue = hsv[0].point(lambda h: (h + 32 * i) % 256)
    path = folder / f"session{i}.png"
    Image.merge("HSV", (hue, hsv[1], hsv[2])).convert("RGB").save(path)
    return path


def watcher(page: Page, stop_running: bool, stop_waiting: bool) -> tuple[Any, list[bool]]:
    """An ``on_message`` pressing Stop at the first preview or (waiting) while behind another; whether it did."""
    pressed: list[bool] = []

    def watch(msg: dict[str, Any]) -> None:
        kind = msg["msg"]
        running = stop_running and kind == "process_generating"
        waiting = stop_waiting and kind == "estimation" and (msg.get("rank") or 0) >= 1
        if (running or waiting) and not pressed:
            pressed.append(True)
            page.join("stop")

    return watch, pressed


def session(app: App, i: int, photo: Path, spec: DreamSpec, renders: int, seed: int) -> list[str]:
    """One session's renders; the problems seen (none: every render ended as it should, with its own image)."""
    page, problems = Page(app, timeout=600), []
    try:
        uploaded = Page.file_data(page.upload(photo), photo.name)
        history = 0
        for k in range(renders):
            stop_running = k == 1 and i % 2 == 1
            stop_waiting = k == 2 and i % 3 == 0
            watch, pressed = watcher(page, stop_running, stop_waiting)
            page.press("go")
            steps = 60 if stop_running else spec.steps
            params = to_dict(spec) | {"seed": seed, "steps": steps}
            out = page.run("render", watch, photo=uploaded, painted_mask=None, style="(none)", **params)
            status = out.outputs[1] if out.outputs else f"error: {out.error}"
            result = page.run("result")
            if stop_running and not status.startswith("stopped after"):
                problems.append(f"session {i} render {k}: not stopped: {status}")
            elif pressed and stop_waiting and not status.startswith((DROPPED_START, "done")):
                problems.append(f"session {i} render {k}: {status}")
            elif not (stop_running or pressed) and not status.startswith("done"):
                problems.append(f"session {i} render {k}: {status}")
            if status.startswith("done"):
                history += 1
                png, _line, shown = result.outputs
                meta = read_metadata(Path(png["path"]))
                if meta["input"] != photo.name or meta["spec"]["seed"] != seed or len(shown) != history:
                    problems.append(
                        f"session {i} render {k}: another's image: {meta['input']} seed {meta['spec']['seed']}"
                    )
        return problems
    finally:
        page.close()


def wave(app: App, photos: list[Path], spec: DreamSpec, renders: int, seed0: int) -> tuple[float, list[str]]:
    """Every session at once; (seconds, problems)."""
    problems: list[str] = []
    started = time.perf_counter()

    def one(i: int) -> None:
        try:
            problems.extend(session(app, i, photos[i], spec, renders, seed0 + i))
        except Exception as exc:  # noqa: BLE001 - a problem of this session, reported
            problems.append(f"session {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(photos))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, problems


def main() -> None:
    """Start the studio, run the waves, print memory per wave and any problem."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waves", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--renders", type=int, default=3)
    parser.add_argument("--side", type=int, default=96)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    spec = DreamSpec(max_side=args.side, octaves=2, steps=args.steps, seed=0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parents[1]
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"dreamer-studio-load-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "dreamer", "studio", "--port", str(port), "--device", "cpu"]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app = None
        deadline = time.time() + 180
        while app is None and time.time() < deadline:
            try:
                app = App(f"http://127.0.0.1:{port}/")
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.5)
        assert app is not None, "the studio did not start"
        proc = psutil.Process(server.pid)
        photos = [photo_for(work, i) for i in range(args.sessions)]
        print(
            f"{args.waves} waves of {args.sessions} sessions x {args.renders} renders, {args.side} px, "
            f"{spec.octaves} octaves x {args.steps} steps, bundled lite0 on the CPU"
        )
        print(f"  before: server RSS {proc.memory_info().rss / 2**20:.1f} MiB, {proc.num_threads()} threads")
        rss, seconds, problems = [], [], []
        for w in range(args.waves):
            took, seen = wave(app, photos, spec, args.renders, 1000 * (w + 1))
            rss.append(proc.memory_info().rss / 2**20)
            seconds.append(took)
            problems += seen
            print(
                f"  wave {w + 1:2d}: {took:5.1f} s, server RSS {rss[-1]:7.1f} MiB, {proc.num_threads()} threads, "
                f"{len(seen)} problems"
            )
        page = Page(app, timeout=600)
        page.press("go")
        last = page.run(
            "render",
            photo=Page.file_data(page.upload(photos[0]), photos[0].name),
            painted_mask=None,
            style="(none)",
            **to_dict(spec),
        )
        page.close()
        print(f"  afterwards: {last.outputs[1] if last.outputs else last.error}")
        if len(rss) > 1:
            print(
                f"  RSS after wave 1 {rss[0]:.1f} MiB, after the last {rss[-1]:.1f} MiB "
                f"({rss[-1] / rss[0] - 1:+.1%}); median wave {statistics.median(seconds):.1f} s"
            )
        for p in problems:
            print(f"  problem: {p}")
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C, as a user stops it (the sessions' files go with it)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
