"""Headless Chromium driven over the DevTools protocol (websocket-client), for the page tests; every wait bounded.

``headless(..., camera=clip.y4m)`` gives the page a fake camera playing that clip in a loop (made with
``write_y4m``), its permission granted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


def find() -> str | None:
    """Debian's chromium (or another Chromium-like browser on the PATH), if installed."""
    return next((p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))), None)


class DevTools:
    """A minimal DevTools-protocol client for one page; the events it passes over are kept in ``events``."""

    def __init__(self, url: str, timeout: float = 10) -> None:
        import websocket

        self.ws = websocket.create_connection(url, timeout=timeout)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _receive(self) -> dict[str, Any]:
        message = json.loads(self.ws.recv())
        if "method" in message:
            self.events.append(message)
        return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result (events before the answer are kept)."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        for _ in range(10_000):
            reply = self._receive()
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply["result"]
        raise AssertionError(f"no answer to {method}")

    def js(self, expression: str) -> Any:
        """Evaluate JavaScript in the page; its value."""
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait(self, expression: str, seconds: float, what: str) -> Any:
        """Poll ``expression`` until it is truthy; its value."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            if value := self.js(expression):
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}: {self.js('document.body.innerText.slice(0, 2000)')}")

    def wait_event(self, method: str, seconds: float) -> dict[str, Any]:
        """The first event named ``method`` (already seen or still to come)."""
        deadline = time.time() + seconds
        seen = 0
        while time.time() < deadline:
            for event in self.events[seen:]:
                if event["method"] == method:
                    return event
            seen = len(self.events)
            self._receive()
        raise AssertionError(f"no {method} within {seconds} s")


def write_y4m(path: Path, frames: list[np.ndarray], fps: int) -> None:
    """(H, W, 3) uint8 RGB frames (even sides) as a YUV4MPEG2 clip (4:2:0, full range): a fake camera for Chromium."""
    h, w = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            r, g, b = (frame[..., i].astype(np.float64) for i in range(3))
            y = 0.299 * r + 0.587 * g + 0.114 * b  # JPEG's YCbCr (BT.601, full range)
            cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
            cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
            out.write(b"FRAME\n")
            for plane in (y, *(c.reshape(h // 2, 2, w // 2, 2).mean((1, 3)) for c in (cb, cr))):
                out.write(np.clip(plane + 0.5, 0, 255).astype(np.uint8).tobytes())


@contextmanager
def headless(chromium: str, profile: Path, camera: Path | None = None) -> Iterator[DevTools]:
    """Start Chromium on about:blank with a fresh profile (and ``camera`` as its webcam); a connection to its page."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    flags += ["--disable-component-update", "--disable-sync", "--remote-debugging-port=0", f"--user-data-dir={profile}"]
    flags += ["--window-size=1400,1000"]
    if camera is not None:
        flags += ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
        flags += [f"--use-file-for-fake-video-capture={camera}"]
    proc = subprocess.Popen([chromium, *flags, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.time() + 60
        while not port_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages: list[dict[str, Any]] = []
        while not pages and time.time() < deadline:
            listed = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
            pages = [p for p in listed if p["type"] == "page"]
            time.sleep(0.1)
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        try:
            yield tools
        finally:
            tools.ws.close()
    finally:
        proc.kill()
        proc.wait()
