"""Streaming overhead of the studio: a default 512 px render through the web app against the same render in process.

The studio runs as its own process (``dreamer studio``, as a user starts it); this script plays its
page (``Page``: it uploads the photo, joins the queue, reads the event stream and fetches every
image it is sent, then asks for the download, command and history as the page does after a
render). In-process renders run in a second process of their own (this script with
``--renderer``, after the same process settings the CLI makes), with the studio's previews asked
for (``preview_every`` as the studio sets it) and without, so neither side shares a process with
the HTTP client. Variants alternate; this VM's speed drifts by 20-40 % from minute to minute, so
the overhead is the median of each studio render's ratio to the in-process render next to it.

Run: ``python bench/studio.py`` (bundled astronaut, 512x512, default settings, seed 0).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from gradio_client import Client
from gradio_client.utils import apply_diff

from dreamer.engine import Engine
from dreamer.engine.events import Step
from dreamer.outputs.images import load_image
from dreamer.runners.startup import tune_process
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


class Page:
    """What the studio's page does over HTTP, and no more.

    One kept-alive connection, uploads, queue joins, the event stream, and a fetch of every image
    it is sent (as the page's ``<img>`` does). ``gradio_client`` would add its own cost on this
    2-core machine: a new connection and TLS context per request, and a download to disk of every
    file of every update (0.5 s of CPU per render).
    """

    def __init__(self, url: str) -> None:
        info = Client(url, verbose=False, download_files=False)  # only to read the app's API
        self.config = info.config
        self.api = info.view_api(print_info=False, return_format="dict")["named_endpoints"]
        info.close()
        self.root = url.rstrip("/") + "/" + self.config.get("api_prefix", "/gradio_api").strip("/") + "/"
        self.http = httpx.Client(timeout=120)
        self.session = uuid.uuid4().hex
        self.cache: set[str] = set()

    def upload(self, path: Path) -> dict[str, Any]:
        """Upload a file (the page does this when a file is picked); its FileData."""
        with path.open("rb") as f:
            reply = self.http.post(self.root + "upload", files=[("files", (path.name, f))])
        reply.raise_for_status()
        return {"path": reply.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def run(self, api_name: str, on_update: Any = None, **params: Any) -> list[Any]:
        """Run one endpoint; ``on_update(outputs)`` after each streamed update; the final outputs."""
        index, dep = next((i, d) for i, d in enumerate(self.config["dependencies"]) if d["api_name"] == api_name)
        types = {c["id"]: c["type"] for c in self.config["components"]}
        names = iter(p["parameter_name"] for p in self.api["/" + api_name]["parameters"])
        data = [None if types[i] == "state" else params[next(names)] for i in dep["inputs"]]
        body = {"data": data, "fn_index": index, "trigger_id": None, "session_hash": self.session, "event_data": None}
        event = self.http.post(self.root + "queue/join", json=body).json()["event_id"]
        outputs: list[Any] | None = None
        with self.http.stream("GET", self.root + "queue/data", params={"session_hash": self.session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") != event or msg["msg"] not in ("process_generating", "process_completed"):
                    continue
                if not msg.get("success", True):
                    raise RuntimeError(msg["output"].get("error"))
                data = msg["output"]["data"]
                if msg["msg"] == "process_completed":
                    return outputs if outputs is not None and data == [] else data
                outputs = data if outputs is None else [apply_diff(o, d) for o, d in zip(outputs, data, strict=True)]
                if on_update:
                    on_update(outputs)
        raise RuntimeError(f"the stream ended before {api_name} finished")

    def fetch(self, value: Any) -> int:
        """Fetch an image the page shows (a FileData), or a gallery's new ones; the bytes read.

        A browser keeps the history strip's old pictures; a preview is fetched even when this same
        render (same seed) made the same one before.
        """
        if isinstance(value, list):
            new = [v["image"] for v in value if v["image"]["url"] not in self.cache]
            self.cache.update(v["url"] for v in new)
            return sum(self.fetch(v) for v in new)
        return len(self.http.get(value["url"]).content) if isinstance(value, dict) and value.get("url") else 0


def through_studio(page: Page, photo: Path, spec: DreamSpec) -> tuple[float, float, float]:
    """(seconds to the first preview on the page, to the final image, to the download and history) of one render."""
    started = time.perf_counter()
    first: list[float] = []

    def on_update(outputs: list[Any]) -> None:
        if page.fetch(outputs[0]) and not first:
            first.append(time.perf_counter() - started)

    uploaded = page.upload(photo)
    image, status = page.run("render", on_update, photo=uploaded, painted_mask=None, style="(none)", **to_dict(spec))
    if not status.startswith("done"):
        raise RuntimeError(status)
    page.fetch(image)
    final = time.perf_counter() - started
    _download, _line, history = page.run("result")  # what the page asks for next (a chained event)
    page.fetch(history)
    return (first[0] if first else float("nan")), final, time.perf_counter() - started


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
    parser.add_argument("--repeats", type=int, default=20)
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
        page = None
        deadline = time.time() + 120
        while page is None and time.time() < deadline:
            try:
                page = Page(f"http://127.0.0.1:{port}/")
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.5)
        assert page is not None, "the studio did not start"
        through_studio(page, args.photo, spec)  # warm-up: model loaded, kernels made, in both
        in_own_process(every)
        studio: list[tuple[float, float, float]] = []
        runs: dict[str, list[tuple[float, float]]] = {"in process, previews": [], "in process": []}
        for _ in range(args.repeats):
            studio.append(through_studio(page, args.photo, spec))
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
    first, final, done = (statistics.median(run[i] for run in studio) for i in range(3))
    runs_text = ", ".join(f"{run[1]:.2f}" for run in studio)
    print(f"  {'studio':<21} first preview {first:5.2f} s  final image {final:5.2f} s (runs {runs_text})")
    print(f"  {'':<21} download, command and history on the page {done:5.2f} s")
    for name, v in runs.items():
        first, total = statistics.median(f for f, _ in v), statistics.median(t for _, t in v)
        shown = "" if first != first else f"first preview {first:5.2f} s  "  # NaN: no previews asked for
        runs_text = ", ".join(f"{t:.2f}" for _, t in v)
        print(f"  {name:<21} {shown:<26}total {total:5.2f} s (runs {runs_text})")
    pairs = list(zip(studio, runs["in process"], strict=True))
    to_final = sorted(run[1] / alone[1] - 1 for run, alone in pairs)
    to_page = statistics.median(run[2] / alone[1] - 1 for run, alone in pairs)
    print(
        f"  streaming overhead (median of paired ratios): {statistics.median(to_final):+.1%} to the final image "
        f"(quartiles {to_final[len(to_final) // 4]:+.1%} .. {to_final[(3 * len(to_final)) // 4]:+.1%}), "
        f"{to_page:+.1%} to the whole page"
    )


if __name__ == "__main__":
    main()
