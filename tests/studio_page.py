"""A light browser session for the studio: what its page sends and reads over HTTP, for load tests.

``gradio_client`` costs too much CPU per call on a 2-core machine to play eight sessions at once
(a connection and a download per file), so this plays the page itself, as ``bench/studio.py``
does: uploads, queue joins, and the one event stream (SSE) a session reads every message from,
routed to the event it belongs to. ``Page.run`` records every message of a run with the time it
arrived, so a test can check queue positions and the order the runs started in.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from gradio_client import Client
from gradio_client.utils import apply_diff


@dataclass
class App:
    """What every session of one server shares: its API (read once) and its URL."""

    url: str
    config: dict[str, Any] = field(default_factory=dict)
    api: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        info = Client(self.url, verbose=False, download_files=False)
        self.config = info.config
        self.api = info.view_api(print_info=False, return_format="dict")["named_endpoints"]
        info.close()
        self.root = self.url.rstrip("/") + "/" + self.config.get("api_prefix", "/gradio_api").strip("/") + "/"


@dataclass
class Outcome:
    """How one run ended: its outputs (or the error the page would show) and every message, timed."""

    api_name: str
    outputs: list[Any] | None
    error: str | None
    messages: list[tuple[float, dict[str, Any]]]

    def times(self, kind: str) -> list[float]:
        """When each message of ``kind`` (``estimation``, ``process_starts``...) arrived."""
        return [t for t, m in self.messages if m["msg"] == kind]

    def ranks(self) -> list[int]:
        """The queue positions the server reported, in order."""
        return [m["rank"] for _, m in self.messages if m["msg"] == "estimation" and m.get("rank") is not None]


class Page:
    """One browser tab: its own session hash and connection, one event stream for all its runs."""

    def __init__(self, app: App, timeout: float = 120.0) -> None:
        self.app = app
        self.http = httpx.Client(timeout=timeout)
        self.session = uuid.uuid4().hex
        self.timeout = timeout
        self._events: dict[str, queue.Queue[tuple[float, dict[str, Any]]]] = {}
        self._pending: set[str] = set()  # joined, not completed yet: the stream stays open for them
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None

    def close(self) -> None:
        """Close the connection (the server keeps the session's state, as after a closed tab)."""
        with self._lock:
            self._pending.clear()
        self.http.close()

    def upload(self, path: Path) -> httpx.Response:
        """Upload a file as the page does when one is picked (the raw reply: 200 or the refusal)."""
        with path.open("rb") as f:
            return self.http.post(self.app.root + "upload", files=[("files", (path.name, f))])

    @staticmethod
    def file_data(reply: httpx.Response, name: str) -> dict[str, Any]:
        """The FileData an accepted upload stands for in a run's parameters."""
        reply.raise_for_status()
        return {"path": reply.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def join(self, api_name: str, **params: Any) -> str:
        """Put a run of ``api_name`` in the server's queue; its event id."""
        deps = self.app.config["dependencies"]
        index, dep = next((i, d) for i, d in enumerate(deps) if d["api_name"] == api_name)
        types = {c["id"]: c["type"] for c in self.app.config["components"]}
        names = iter(p["parameter_name"] for p in self.app.api["/" + api_name]["parameters"])
        data = [None if types[i] == "state" else params[next(names)] for i in dep["inputs"]]
        body = {"data": data, "fn_index": index, "trigger_id": None, "session_hash": self.session, "event_data": None}
        return self._join(body)

    def _join(self, body: dict[str, Any]) -> str:
        """Join the queue with ``body``; the event id, its messages routed to it from now on."""
        reply = self.http.post(self.app.root + "queue/join", json=body)
        reply.raise_for_status()
        event = reply.json()["event_id"]
        with self._lock:
            self._events[event] = queue.Queue()
            self._pending.add(event)
            if self._reader is None or not self._reader.is_alive():
                self._reader = threading.Thread(target=self._read, daemon=True, name=f"page-{self.session[:6]}")
                self._reader.start()
        return event

    def _read(self) -> None:
        """The session's event stream, reopened while runs are pending; each message to its run."""
        while True:
            with self._lock:
                if not self._pending:
                    self._reader = None
                    return
            try:
                self._read_stream()
            except httpx.HTTPError:
                if self.http.is_closed:  # the page was closed meanwhile
                    return
                raise

    def _read_stream(self) -> None:
        """One connection of the event stream, until the server closes it."""
        params = {"session_hash": self.session}
        with self.http.stream("GET", self.app.root + "queue/data", params=params) as stream:
            if stream.status_code != 200:
                time.sleep(0.05)
                return
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                with self._lock:
                    target = self._events.get(msg.get("event_id") or "")
                    if msg.get("msg") == "process_completed":
                        self._pending.discard(msg.get("event_id"))
                if target is not None:
                    target.put((time.perf_counter(), msg))
                if msg.get("msg") == "close_stream":
                    return

    def wait(self, event: str, api_name: str, on_message: Any = None) -> Outcome:
        """Read ``event``'s messages until it completes; ``on_message(msg)`` for each."""
        inbox = self._events[event]
        seen: list[tuple[float, dict[str, Any]]] = []
        outputs: list[Any] | None = None
        deadline = time.perf_counter() + self.timeout
        try:
            while True:
                arrived, msg = inbox.get(timeout=max(0.1, deadline - time.perf_counter()))
                seen.append((arrived, msg))
                if on_message is not None:
                    on_message(msg)
                if msg["msg"] == "process_generating":
                    data = msg["output"]["data"]
                    diffs = zip(outputs or [], data, strict=True)
                    outputs = data if outputs is None else [apply_diff(o, d) for o, d in diffs]
                elif msg["msg"] == "process_completed":
                    if not msg.get("success", True):
                        return Outcome(api_name, None, str(msg["output"].get("error")), seen)
                    data = msg["output"]["data"]
                    return Outcome(api_name, outputs if outputs is not None and data == [] else data, None, seen)
        finally:
            with self._lock:
                self._events.pop(event, None)
                self._pending.discard(event)

    def run(self, api_name: str, on_message: Any = None, **params: Any) -> Outcome:
        """Run one endpoint to its end (what the page reads back)."""
        return self.wait(self.join(api_name, **params), api_name, on_message)

    def press(self, elem_id: str) -> None:
        """What a click on a button does before the endpoint chained after it runs: the handlers it triggers."""
        button = next(c["id"] for c in self.app.config["components"] if c.get("props", {}).get("elem_id") == elem_id)
        for index, dep in enumerate(self.app.config["dependencies"]):
            named = "/" + str(dep["api_name"]) in self.app.api  # an endpoint: the caller runs it itself
            if [button, "click"] in [list(t) for t in dep["targets"]] and dep["backend_fn"] and not named:
                body = {"data": [None] * len(dep["inputs"]), "fn_index": index, "trigger_id": button}
                event = self._join(body | {"session_hash": self.session, "event_data": None})
                outcome = self.wait(event, f"click on #{elem_id}")
                if outcome.error:
                    raise RuntimeError(outcome.error)

    def fetch(self, value: Any) -> bytes:
        """The bytes of a file the server sent (a FileData), as the page's ``<img>`` fetches it."""
        reply = self.http.get(value["url"])
        reply.raise_for_status()
        return reply.content
