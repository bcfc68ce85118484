"""The studio under load: eight browser sessions at once, stops while running and while queued, uploads at the limit.

Each session plays the page over HTTP (``studio_page.Page``: uploads, queue joins, one event stream)
against a real server on a free 127.0.0.1 port, with the random-weight model and 48 px renders of a
step or two. Bounded: every wait has a deadline, the whole file runs in well under a minute here.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat

from dreamer.engine import Engine
from dreamer.outputs.metadata import read_metadata
from dreamer.samples import sample_path
from dreamer.spec.schema import to_dict
from dreamer.spec.specs import DreamSpec, VisSpec

pytest.importorskip("gradio", reason="the studio is the [studio] extra")
psutil = pytest.importorskip("psutil")
from studio_page import App, Outcome, Page  # noqa: E402 - needs gradio_client

from dreamer.studio import StudioConfig, serve  # noqa: E402 - needs gradio
from dreamer.studio.page import DROPPED  # noqa: E402

SMALL = DreamSpec(max_side=48, octaves=1, steps=2, seed=1)
LONG = 400  # steps of a render that runs until it is stopped
SESSIONS = 8
TINTS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255), (255, 255, 255), (0, 0, 0)]
DEADLINE = 60.0  # seconds any one phase may take


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def app(random_engine: Engine, tmp_path: Path) -> Iterator[App]:
    """The studio on the random-weight model with 48 px dreams, on a free 127.0.0.1 port."""
    config = StudioConfig(cache=tmp_path / "cache", dream_base=SMALL, thumb_spec=VisSpec(size=32, steps=1, seed=0))
    port = free_port()
    demo = serve(random_engine, config, port=port)
    try:
        yield App(f"http://127.0.0.1:{port}/")
    finally:
        demo.close(verbose=False)


def tinted(folder: Path, i: int) -> Path:
    """Session ``i``'s own photo: the cat washed in a colour no other session's photo has."""
    cat = Image.open(sample_path("chelsea")).convert("RGB").resize((96, 64))
    path = folder / f"s{i}.png"
    Image.blend(cat, Image.new("RGB", cat.size, TINTS[i]), 0.7).save(path)
    return path


def mean(image: Image.Image) -> tuple[float, ...]:
    return tuple(ImageStat.Stat(image.convert("RGB")).mean)


def render(page: Page, photo: dict[str, Any], seed: int, steps: int = SMALL.steps, on_message: Any = None) -> Outcome:
    """Press Dream as the page does: the click, then the queued render to its end."""
    page.press("go")
    params = to_dict(SMALL) | {"seed": seed, "steps": steps}
    return page.run("render", on_message, photo=photo, painted_mask=None, style="(none)", **params)


def stop_on_first_preview(page: Page) -> Any:
    """An ``on_message`` that presses Stop once the first preview arrives (the run is running)."""
    pressed: list[bool] = []

    def on_message(msg: dict[str, Any]) -> None:
        if msg["msg"] == "process_generating" and not pressed:
            pressed.append(True)
            page.join("stop")

    return on_message


def play(app: App, i: int, photo: Path, seed: int) -> list[tuple[str, Outcome, Outcome, bytes]]:
    """One session: three renders of its own photo (odd sessions stop the second midway), each with its result."""
    page = Page(app, timeout=DEADLINE)
    try:
        uploaded = Page.file_data(page.upload(photo), photo.name)
        runs = []
        for k in range(3):
            stops = k == 1 and i % 2 == 1
            watch = stop_on_first_preview(page) if stops else None
            outcome = render(page, uploaded, seed, LONG if stops else SMALL.steps, watch)
            image = page.fetch(outcome.outputs[0]) if outcome.outputs and outcome.outputs[0] else b""
            runs.append(("stopped" if stops else "done", outcome, page.run("result"), image))
        return runs
    finally:
        page.close()


def wave(app: App, photos: list[Path], seed0: int) -> dict[int, list[tuple[str, Outcome, Outcome, bytes]]]:
    """All sessions at once, each on a thread of its own; every one must finish before the deadline."""
    found: dict[int, Any] = {}

    def one(i: int) -> None:
        try:
            found[i] = play(app, i, photos[i], seed0 + i)
        except BaseException as exc:  # noqa: BLE001 - reported below, with the session
            found[i] = exc

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(photos))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DEADLINE)
    assert all(not t.is_alive() for t in threads), "a session did not finish in time"
    errors = {i: r for i, r in found.items() if isinstance(r, BaseException)}
    assert not errors, errors
    return found


def check_own(i: int, runs: list[tuple[str, Outcome, Outcome, bytes]], photos: list[Path], seed: int) -> None:
    """Session ``i`` saw only its own dreams: its photo's name, its seed, its colour, its history alone."""
    done = 0
    own = [mean(Image.open(p)) for p in photos]
    for expected, outcome, result, image in runs:
        assert outcome.error is None and result.error is None, (i, outcome.error, result.error)
        status = outcome.outputs[1]
        if expected == "stopped":
            assert status.startswith("stopped after"), (i, status)
            assert all(o == {"__type__": "update"} for o in result.outputs), result.outputs  # nothing new to show
            continue
        done += 1
        assert status.startswith("done") and f"seed {seed}" in status, (i, status)
        png, _line, history = result.outputs
        meta = read_metadata(Path(png["path"]))
        assert meta["input"] == photos[i].name and meta["spec"]["seed"] == seed, (i, meta["input"])
        assert len(history) == done and all(h["caption"].endswith(f"seed {seed}") for h in history), (i, history)
        colour = mean(Image.open(io.BytesIO(image)))
        nearest = min(range(len(own)), key=lambda j: sum((a - b) ** 2 for a, b in zip(colour, own[j], strict=True)))
        assert nearest == i, f"session {i} was shown a dream of session {nearest}'s photo"


def test_eight_sessions_at_once_each_see_only_their_own_and_memory_stays_bounded(app: App, tmp_path: Path) -> None:
    photos = [tinted(tmp_path, i) for i in range(SESSIONS)]
    server = psutil.Process()  # the server runs in this process (its threads)
    first = wave(app, photos, 100)  # the warm-up: kernels, caches, Gradio's first sessions
    rss = [server.memory_info().rss]
    for round_ in range(2):
        found = wave(app, photos, 200 + 10 * round_)
        rss.append(server.memory_info().rss)
        for i in range(SESSIONS):
            check_own(i, found[i], photos, 200 + 10 * round_ + i)
    for i in range(SESSIONS):
        check_own(i, first[i], photos, 100 + i)
    growth = (rss[-1] - rss[0]) / 2**20
    print(f"server RSS after the warm-up wave and each next one: {[round(r / 2**20) for r in rss]} MiB")
    assert growth < 40, f"the server grew {growth:.0f} MiB over 48 more renders ({[r >> 20 for r in rss]} MiB)"
    # Still serving: a new session's render goes through.
    page = Page(app, timeout=DEADLINE)
    outcome = render(page, Page.file_data(page.upload(photos[0]), photos[0].name), 7)
    assert outcome.outputs[1].startswith("done") and "seed 7" in outcome.outputs[1]
    page.close()


def test_queue_positions_are_right_and_stop_drops_a_waiting_render(app: App, tmp_path: Path) -> None:
    """Renders start in the order of the positions shown; Stop while waiting drops the render when its turn comes."""
    photo = tinted(tmp_path, 0)
    blocker = Page(app, timeout=DEADLINE)
    uploaded = Page.file_data(blocker.upload(photo), photo.name)
    running = threading.Event()
    ended: list[Outcome] = []

    def block() -> None:
        ended.append(render(blocker, uploaded, 1, LONG, lambda m: m["msg"] == "process_generating" and running.set()))

    threading.Thread(target=block, daemon=True).start()
    assert running.wait(DEADLINE), "the first render did not start"
    pages = [Page(app, timeout=DEADLINE) for _ in range(5)]
    events = []
    for j, page in enumerate(pages):  # one after the other: each joins behind the ones before
        page.press("go")
        params = to_dict(SMALL) | {"seed": 300 + j}
        events.append(page.join("render", photo=uploaded, painted_mask=None, style="(none)", **params))
    outcomes: dict[int, Outcome] = {}
    first_rank = {j: threading.Event() for j in range(5)}

    def follow(j: int) -> None:
        outcomes[j] = pages[j].wait(events[j], "render", lambda m: m["msg"] == "estimation" and first_rank[j].set())

    threads = [threading.Thread(target=follow, args=(j,), daemon=True) for j in range(5)]
    for t in threads:
        t.start()
    assert all(e.wait(DEADLINE) for e in first_rank.values()), "a queued render was never told its position"
    assert pages[2].run("stop").error is None  # the third in line changes its mind while it waits
    assert blocker.run("stop").error is None
    for t in threads:
        t.join(timeout=DEADLINE)
    assert len(outcomes) == 5 and ended and ended[0].outputs[1].startswith("stopped after"), ended
    for j, outcome in outcomes.items():
        assert outcome.error is None, outcome.error
        first = next(m for _, m in outcome.messages if m["msg"] == "estimation")
        assert (first["rank"], first["queue_size"]) == (j, j + 1), (j, first)
        ranks = outcome.ranks()
        assert ranks[-1] == 0 and all(0 <= a - b <= 1 for a, b in zip(ranks, ranks[1:], strict=False)), (j, ranks)
    starts = sorted(range(5), key=lambda j: outcomes[j].times("process_starts")[0])
    assert starts == [0, 1, 2, 3, 4], starts
    assert outcomes[2].outputs[1] == DROPPED, outcomes[2].outputs
    for j in (0, 1, 3, 4):
        assert outcomes[j].outputs[1].startswith("done") and f"seed {300 + j}" in outcomes[j].outputs[1]
    # The dropped render left nothing behind: its session's next render runs and shows its own history.
    again = render(pages[2], uploaded, 302)
    _png, _line, history = pages[2].run("result").outputs
    assert again.outputs[1].startswith("done") and len(history) == 1
    for page in [blocker, *pages]:
        page.close()


def png_of_size(size: int) -> bytes:
    """A valid PNG of exactly ``size`` bytes: the cat with a private chunk of padding (readers skip it)."""
    buffer = io.BytesIO()
    Image.open(sample_path("chelsea")).convert("RGB").resize((96, 64)).save(buffer, format="PNG")
    png = buffer.getvalue()
    pad = size - len(png) - 12  # a chunk: length, type, data, CRC
    chunk = struct.pack(">I", pad) + b"paDd" + bytes(pad)
    chunk += struct.pack(">I", zlib.crc32(chunk[4:]) & 0xFFFFFFFF)
    return png[:33] + chunk + png[33:]  # after the 8-byte signature and IHDR's 25 bytes


def test_an_upload_at_the_limit_is_accepted_and_one_byte_over_refused(app: App, tmp_path: Path) -> None:
    limit = app.config["max_file_size"]
    assert limit == 25 * 2**20  # StudioConfig.max_upload, as the server enforces it
    at, over = tmp_path / "at.png", tmp_path / "over.png"
    at.write_bytes(png_of_size(limit))
    over.write_bytes(png_of_size(limit + 1))
    assert at.stat().st_size == limit and over.stat().st_size == limit + 1
    page = Page(app, timeout=DEADLINE)
    refused = page.upload(over)
    assert refused.status_code == 413, refused.text
    assert refused.text == f"File size exceeded maximum allowed size of {limit} bytes."
    accepted = page.upload(at)
    assert accepted.status_code == 200, accepted.text
    outcome = render(page, Page.file_data(accepted, at.name), 5)  # and it is a photo the studio can dream
    assert outcome.error is None and outcome.outputs[1].startswith("done"), outcome
    page.close()


def test_a_stopped_studio_leaves_no_session_files(tmp_path: Path, cat: Path) -> None:
    """``dreamer studio`` stopped with Ctrl-C removes every session's files (Gradio never drops them at shutdown)."""
    temp, port = tmp_path / "tmp", free_port()
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "GRADIO_TEMP_DIR": str(tmp_path / "gradio")}
    env["PYTHONPATH"] = str(Path(__file__).parents[1])
    cmd = [sys.executable, "-m", "dreamer", "studio", "--port", str(port), "--device", "cpu"]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        app = None
        deadline = time.time() + DEADLINE
        while app is None and time.time() < deadline and server.poll() is None:
            try:
                app = App(f"http://127.0.0.1:{port}/")
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.5)
        assert app is not None, server.stderr.read() if server.poll() is not None else "the studio did not start"
        page = Page(app, timeout=DEADLINE)
        outcome = render(page, Page.file_data(page.upload(cat), cat.name), 3, steps=1)
        assert outcome.outputs[1].startswith("done") and page.run("result").error is None
        page.close()
        saved = list(temp.rglob("cat_dream.png"))  # the session's download, kept while the server runs
        assert len(saved) == 1, sorted(str(p.relative_to(temp)) for p in temp.rglob("*"))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert sorted(p.name for p in temp.iterdir()) == []
