"""Runs and sessions: the engine in a worker thread, its events turned into a stream; one state per browser tab.

A run's ``Step`` events carry previews; ``stream`` hands them to the page as they arrive (only the
newest when several queued up, so a slow browser never slows the render), and a ``CancelToken``
kept in the session stops the run within one step when the page's Stop button is pressed.
Every torch call of a server (model loading, thumbnails, runs) goes to one long-lived worker thread:
each thread that runs torch gets its own OpenMP team, and two teams on 2 cores take turns spinning,
so a render measured about 2x slower in a second thread than in the thread that loaded the model.
"""

from __future__ import annotations

import concurrent.futures
import os
import queue
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamer.engine.events import CancelToken, Event, OnEvent, Step, Warned
from dreamer.errors import Cancelled, DreamerError

Run = Callable[[OnEvent, CancelToken], Any]  # (on_event, cancel) -> result


@dataclass
class Item:
    """One thing a stream reports: a preview step, a warning, the result, or how it ended early."""

    kind: str  # "step", "warned", "done", "stopped"
    step: Step | None = None
    message: str = ""
    result: Any = None


@dataclass
class Session:
    """What one browser tab owns: its files, its history and the token of its run in progress."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dreamer-studio-")))
    token: CancelToken | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    renders: int = 0

    def start(self) -> CancelToken:
        """A fresh token for a new run (the Stop button cancels it)."""
        self.token = CancelToken()
        return self.token

    def stop(self) -> None:
        """Ask the run in progress, if any, to stop after its current step."""
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
        shutil.rmtree(self.folder, ignore_errors=True)


def _leave_a_core() -> None:
    """Torch on all cores but one: the web server's own threads need one (measured 1.3x faster renders on 2 cores)."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def worker() -> concurrent.futures.ThreadPoolExecutor:
    """The one thread a server's torch work executes on (runs are one at a time anyway)."""
    return concurrent.futures.ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="dreamer-studio-run", initializer=_leave_a_core
    )


def stream(run: Run, token: CancelToken, pool: concurrent.futures.Executor, timeout: float = 3600.0) -> Iterator[Item]:
    """Run ``run`` on the ``pool``'s thread and yield its previews as they come, then its result.

    A ``DreamerError`` from the run is raised here; a cancelled run ends with a "stopped" item.
    Closing the generator (the page went away) cancels the run.
    """
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def on_event(event: Event) -> None:
        events.put(("event", event))

    def work() -> None:
        try:
            events.put(("done", run(on_event, token)))
        except Cancelled:
            events.put(("stopped", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the page's thread, raised there
            events.put(("error", exc))

    future = pool.submit(work)
    last: Step | None = None
    try:
        while True:
            kind, payload = events.get(timeout=timeout)
            newest: Step | None = None
            while True:  # coalesce what queued up: only the newest preview is worth sending
                if kind == "event" and isinstance(payload, Step):
                    last = payload
                    newest = payload if payload.preview is not None else newest
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
                yield Item("step", step=newest)
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
    """An error's one line with server-side folders cut from the file names it mentions."""
    from dreamer.cli.group import one_line

    text = str(exc)
    for p in sorted({p for p in paths if p}, key=len, reverse=True):
        text = text.replace(str(p), Path(p).name)
    text = text.replace(tempfile.gettempdir(), "…")
    return one_line(text)
