"""Runs and sessions: the engine in a worker thread, its events turned into a stream; one state per browser tab.

A run's ``Step`` events carry previews, and a run of many frames (the zoom) reports each finished
``Frame``; ``stream`` hands them to the page as they arrive (only the newest when several queued
up, so a slow browser never slows the render), and a ``CancelToken`` kept in the session stops the
run within one step when the page's Stop button is pressed.
Every torch call of a server (model loading, the layer list, thumbnails, runs) goes to one
long-lived worker thread: each thread that runs torch keeps its own OpenMP team, and with a second
one alive (one forward pass on the main thread was enough) renders measured 2x slower on 2 cores.
With that, torch keeps all the cores: leaving one to the web server measured 1.4x slower.
"""

from __future__ import annotations

import concurrent.futures
import queue
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from dreamer.engine.events import CancelToken, Event, Step, Warned
from dreamer.errors import Cancelled, DreamerError, one_line
from dreamer.outputs.images import LoadedImage, load_image
from dreamer.studio.forms import label


@dataclass(frozen=True)
class Frame:
    """A finished frame of a run that makes many (what ``dreamer.animate.zoom.zoom`` yields)."""

    done: int
    total: int
    image: Image.Image


Report = Callable[[Event | Frame], None]
Run = Callable[[Report, CancelToken], Any]  # (report, cancel) -> result


@dataclass
class Item:
    """One thing a stream reports: a preview (step or frame), a warning, the result, or how it ended early."""

    kind: str  # "step", "frame", "warned", "done", "stopped"
    step: Step | None = None  # the newest step (with its preview for a "step")
    frame: Frame | None = None  # the newest finished frame (for a "frame")
    message: str = ""
    result: Any = None

    @property
    def preview(self) -> Image.Image | None:
        """The image a "step" or "frame" item shows."""
        if self.kind == "frame" and self.frame is not None:
            return self.frame.image
        return self.step.preview if self.step is not None else None


@dataclass
class Session:
    """What one browser tab owns: its files, its history and the token of its run in progress."""

    base: Path | None = None  # where its folder goes (the server's own; None: the system's temporary folder)
    token: CancelToken | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    finished: concurrent.futures.Future[dict[str, Any]] | None = None  # the last dream's saving, until shown
    renders: int = 0
    live: Any = None  # the Live tab's stream in progress (dreamer.studio.live.LiveRun)
    clicked: float | None = None  # when a Run button was last pressed (its run may still wait in the queue)
    stopped: float = float("-inf")  # when Stop was last pressed
    _folder: Path | None = field(default=None, init=False, repr=False)

    @property
    def folder(self) -> Path:
        """The session's own folder, made on first use (a page that never saves anything makes none)."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="dreamer-session-", dir=self.base))
        return self._folder

    def click(self) -> None:
        """A Run button was pressed: its run joins the queue now and starts when its turn comes."""
        self.clicked = time.monotonic()

    def begin(self) -> bool:
        """A run's turn came: whether it may go (False: Stop was pressed after its click, while it waited)."""
        clicked, self.clicked = self.clicked, None
        return clicked is None or self.stopped < clicked

    def start(self) -> CancelToken:
        """A fresh token for a new run (the Stop button cancels it)."""
        self.token = CancelToken()
        return self.token

    def stop(self) -> None:
        """Stop the run in progress after its current step, and drop one still waiting in the queue."""
        self.stopped = time.monotonic()
        if self.token is not None:
            self.token.cancel()

    def path(self, name: str) -> Path:
        """A fresh file path in this session's folder (numbered, so earlier results stay downloadable)."""
        self.renders += 1
        sub = self.folder / str(self.renders)
        sub.mkdir()
        return sub / name

    def close(self) -> None:
        """Remove the session's files (called when Gradio drops the session)."""
        self.stop()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def worker() -> concurrent.futures.ThreadPoolExecutor:
    """The one thread a server's torch work executes on (runs are one at a time anyway)."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="dreamer-studio-run")


def stream(run: Run, token: CancelToken, pool: concurrent.futures.Executor, timeout: float = 3600.0) -> Iterator[Item]:
    """Run ``run`` on the ``pool``'s thread and yield its previews (steps, frames) as they come, then its result.

    A ``DreamerError`` from the run is raised here; a cancelled run ends with a "stopped" item.
    Closing the generator (the page went away) cancels the run.
    """
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def report(event: Event | Frame) -> None:
        events.put(("event", event))

    def work() -> None:
        try:
            events.put(("done", run(report, token)))
        except Cancelled:
            events.put(("stopped", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the page's thread, raised there
            events.put(("error", exc))

    future = pool.submit(work)
    last: Step | None = None
    try:
        while True:
            kind, payload = events.get(timeout=timeout)
            newest: Item | None = None
            while True:  # coalesce what queued up: only the newest preview is worth sending
                if kind == "event" and isinstance(payload, Step):
                    last = payload
                    newest = Item("step", step=payload) if payload.preview is not None else newest
                elif kind == "event" and isinstance(payload, Frame):
                    newest = Item("frame", step=last, frame=payload)
                elif kind == "event" and isinstance(payload, Warned):
                    yield Item("warned", message=payload.message)
                elif kind != "event":
                    break
                try:
                    kind, payload = events.get_nowait()
                except queue.Empty:
                    kind = ""
                    break
            if newest is not None:
                yield newest
            if kind == "done":
                yield Item("done", step=last, result=payload)
                return
            if kind == "stopped":
                yield Item("stopped", step=last)
                return
            if kind == "error":
                raise payload
    finally:
        token.cancel()  # a no-op after a normal end; stops the worker when the page went away
        concurrent.futures.wait([future], timeout=30)


def public(exc: DreamerError, *paths: str | None) -> str:
    """An error's one line, its field named by the control's label, server-side folders cut from file names."""
    text = exc.spelled(label)
    for p in sorted({p for p in paths if p}, key=len, reverse=True):
        text = text.replace(str(p), Path(p).name)
    text = text.replace(tempfile.gettempdir(), "…")
    return one_line(text)


def fail(exc: DreamerError, *paths: str | None) -> gr.Error:
    """The page's error for a library error: its one line, server folders cut out."""
    return gr.Error(public(exc, *paths), print_exception=False)


def photo_of(path: str | None) -> LoadedImage:
    """The uploaded photo, decoded with the library's checks (size, pixels, corrupt data)."""
    if not path:
        raise gr.Error("upload a photo or pick a sample first", print_exception=False)
    try:
        return load_image(path)
    except DreamerError as exc:
        raise fail(exc, path) from None
