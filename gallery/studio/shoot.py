"""Screenshots of each studio tab, from the real running app with the bundled model (headless Chromium).

Run: ``python gallery/studio/shoot.py`` (writes first-screen.png, then dream.png, grid.png, maps.png and
zoom.png next to itself; ``--first-only`` stops after the first screen). It starts the studio on a free
localhost port, shoots the window as it opens, uploads the bundled cat, runs each tab once and
captures the page with the DevTools protocol (websocket-client), like tests/test_studio.py.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

from dreamer.engine import Engine
from dreamer.samples import sample_path
from dreamer.studio import StudioConfig, serve

HERE = Path(__file__).resolve().parent


class Page:
    """One Chromium page over the DevTools protocol; every wait bounded."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=30)
        self.n = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result (events in between are skipped)."""
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.n:
                return reply.get("result", {})

    def js(self, expression: str) -> Any:
        """Evaluate JavaScript in the page."""
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait(self, expression: str, seconds: float) -> Any:
        """Poll until the expression is truthy."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            if value := self.js(expression):
                return value
            time.sleep(0.2)
        raise TimeoutError(f"{expression}: {self.js('document.body.innerText.slice(0, 3000)')}")

    def shot(self, path: Path) -> None:
        """Capture the whole page as a PNG."""
        height = self.js("document.documentElement.scrollHeight")
        self.call("Emulation.setDeviceMetricsOverride", width=1400, height=height, deviceScaleFactor=1, mobile=False)
        time.sleep(0.5)
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        self.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        print(f"wrote {path}")

    def window(self, path: Path) -> None:
        """Capture only what the 1400x1000 window shows."""
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        print(f"wrote {path}")


def tab(page: Page, name: str) -> None:
    """Click the tab button with this label."""
    page.js(f"[...document.querySelectorAll('button[role=tab]')].find(b => b.innerText.trim() === {name!r}).click()")
    time.sleep(1)


def run(page: Page, prefix: str, seconds: float) -> None:
    """Press a tab's Run button and wait until its status says done."""
    button, status = (f"#{prefix}-go", f"#{prefix}-status") if prefix else ("#go", "#status")
    started = time.time()
    text = f"document.querySelector('{status}').innerText"
    before = page.js(text)
    page.js(f"document.querySelector('{button}').click()")
    assert before is not None
    time.sleep(1)  # the run has started: its progress shows until it is done
    busy = "[...document.querySelectorAll('.progress-text')].some(e => e.offsetParent !== null)"
    page.wait(f"{text} !== {before!r} && /done|frames at/.test({text}) && !{busy}", seconds)
    print(f"{prefix or 'dream'}: {time.time() - started:.1f} s")
    time.sleep(3)


def main() -> None:
    """Start the studio and Chromium, run every tab once, save a screenshot of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--first-only", action="store_true", help="only the first screen, as the studio opens")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="studio-shots-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = serve(Engine(device="cpu"), StudioConfig(cache=work / "cache"), port=port)
    profile = work / "profile"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0"]
    flags += [f"--user-data-dir={profile}", "--window-size=1400,1000", "--hide-scrollbars"]
    proc = subprocess.Popen([shutil.which("chromium") or "chromium", *flags, "about:blank"], stderr=subprocess.DEVNULL)
    try:
        while not (profile / "DevToolsActivePort").exists():
            time.sleep(0.1)
        devtools = int((profile / "DevToolsActivePort").read_text().split()[0])
        pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{devtools}/json/list").read())
        page = Page(next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"])
        page.call("Page.navigate", url=f"http://127.0.0.1:{port}/")
        page.wait("!!document.querySelector('#photo input[type=file]')", 60)
        time.sleep(5)  # the page's load handler (the sample it opens with) has run
        page.window(args.out / "first-screen.png")
        if args.first_only:
            return
        root = page.call("DOM.getDocument", depth=-1, pierce=True)["root"]["nodeId"]
        node = page.call("DOM.querySelector", nodeId=root, selector="#photo input[type=file]")["nodeId"]
        cat = work / "chelsea.png"
        shutil.copyfile(sample_path("chelsea"), cat)
        page.call("DOM.setFileInputFiles", files=[str(cat)], nodeId=node)
        page.wait("!!document.querySelector('canvas')", 60)
        page.js("[...document.querySelectorAll('button')].find(b => b.innerText.includes('Layer thumbnails')).click()")
        started = time.time()
        page.wait("document.querySelectorAll('#thumbs img').length > 4", 300)
        print(f"thumbnails: {time.time() - started:.1f} s")
        run(page, "", 300)
        run(page, "", 300)  # a second render: two entries in the history
        page.shot(args.out / "dream.png")
        for name, prefix in (("Feature grid", "grid"), ("Activation maps", "maps"), ("Zoom", "zoom")):
            tab(page, name)
            run(page, prefix, 600)
            page.shot(args.out / f"{prefix}.png")
    finally:
        proc.kill()
        proc.wait()
        demo.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
