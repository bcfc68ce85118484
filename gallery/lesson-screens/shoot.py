"""A screenshot of the lesson's first screen: the page made with the bundled model, opened in headless Chromium.

Run: ``python gallery/lesson-screens/shoot.py [OUT.png]`` (small settings, about a minute on 2 CPU cores).
It writes a lesson on the bundled cat into a temporary folder and captures what a 1280x800 window
shows on opening (``--full`` captures the whole page), like gallery/studio/shoot.py.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

from dreamer.engine import Engine
from dreamer.lecture.lesson import lesson
from dreamer.samples import sample_path
from dreamer.spec.specs import DreamSpec, VisSpec

HERE = Path(__file__).resolve().parent
WINDOW = (1280, 800)


def call(ws: websocket.WebSocket, n: int, method: str, **params: Any) -> dict[str, Any]:
    """Send DevTools command number ``n`` and return its result (events in between are skipped)."""
    ws.send(json.dumps({"id": n, "method": method, "params": params}))
    while True:
        reply = json.loads(ws.recv())
        if reply.get("id") == n:
            return reply.get("result", {})


def shoot(page: Path, out: Path, full: bool) -> None:
    """Open ``page`` in headless Chromium and save the first screen (or the whole page) as ``out``."""
    work = Path(tempfile.mkdtemp(prefix="lesson-shot-"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0"]
    flags += [f"--user-data-dir={work}", f"--window-size={WINDOW[0]},{WINDOW[1]}", "--hide-scrollbars"]
    proc = subprocess.Popen([shutil.which("chromium") or "chromium", *flags, "about:blank"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (work / "DevToolsActivePort").exists() and time.time() < deadline:
            time.sleep(0.1)
        port = int((work / "DevToolsActivePort").read_text().split()[0])
        pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        ws = websocket.create_connection(next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"])
        w, h = WINDOW
        call(ws, 1, "Emulation.setDeviceMetricsOverride", width=w, height=h, deviceScaleFactor=1, mobile=False)
        call(ws, 2, "Page.navigate", url=page.as_uri())
        time.sleep(3)
        if full:
            height = call(
                ws, 3, "Runtime.evaluate", expression="document.documentElement.scrollHeight", returnByValue=True
            )
            h = height["result"]["value"]
            call(ws, 4, "Emulation.setDeviceMetricsOverride", width=w, height=h, deviceScaleFactor=1, mobile=False)
            time.sleep(1)
        data = call(ws, 5, "Page.captureScreenshot", format="png", captureBeyondViewport=full)["data"]
        out.write_bytes(base64.b64decode(data))
        ws.close()
        print(f"wrote {out}")
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    """Make a small lesson on the bundled cat and shoot its first screen."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=HERE / "first-screen-after.png")
    parser.add_argument("--full", action="store_true", help="the whole page, not only the first screen")
    parser.add_argument("--keep", type=Path, help="also keep the lesson folder here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lesson-page-"))
    try:
        vis = VisSpec(size=48, steps=16, batch=32, param="fourier")
        dream = DreamSpec(steps=4, octaves=2)
        page = lesson(
            sample_path("chelsea"), work / "lesson", engine=Engine(device="cpu"), seed=1,
            max_side=256, vis=vis, sweep_side=96, dream=dream,
        )  # fmt: skip
        shoot(page, args.out.resolve(), args.full)
        if args.keep:
            shutil.copytree(page.parent, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
