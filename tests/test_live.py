"""dreamer live: the loop follows motion, the moods, adaptive quality, cancel, the CLI, the Live tab in Chromium.

The page test feeds the studio from Chromium's fake camera: a clip of a known pan across a photo.
"""

from __future__ import annotations

import base64
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromium
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

cv2 = pytest.importorskip("cv2")

from dreamer.cli import cli  # noqa: E402
from dreamer.engine import CancelToken, Engine  # noqa: E402
from dreamer.errors import DreamerError  # noqa: E402
from dreamer.mirror.adapt import MIN_SIDE, SETTLE, Governor  # noqa: E402
from dreamer.mirror.loop import Mirror, live  # noqa: E402
from dreamer.samples import sample_path  # noqa: E402
from dreamer.spec.live import LiveSpec  # noqa: E402
from dreamer.spec.presets import LIVE_SPEC  # noqa: E402

SMALL = LIVE_SPEC.replace(max_side=96, seed=0)
STEADY = LiveSpec(target_fps=0)  # no adapting: every frame at the asked steps and size
W, H, DX = 96, 72, 3  # the camera's frame, and how far it pans per frame (pixels)


@pytest.fixture(scope="module")
def panorama() -> np.ndarray:
    """A strip of the cat photo wider than the camera's frame, which pans across it."""
    return np.asarray(Image.open(sample_path("chelsea")).convert("RGB").resize((W + 40 * DX, 144)))[36 : 36 + H]


def pan(panorama: np.ndarray, n: int) -> list[np.ndarray]:
    """The camera panning right DX pixels a frame: its picture moves left."""
    return [panorama[:, DX * k : DX * k + W] for k in range(n)]


def grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.asarray(image, np.float32), cv2.COLOR_RGB2GRAY).astype(np.float64)


def shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(dx, dy) that moves grey image ``a`` onto ``b`` (phase correlation)."""
    window = cv2.createHanningWindow(a.shape[::-1], cv2.CV_64F)
    return cv2.phaseCorrelate(a, b, window)[0]


def detail(dream: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """What the dream added to the camera's picture, grey."""
    return grey(dream.astype(np.float32) / 255 - camera.astype(np.float32) / 255)


def test_the_dream_follows_a_pan(random_engine: Engine, panorama: np.ndarray) -> None:
    """The dream's detail moves with the picture (not stuck to the screen): its shift is the camera's."""
    frames = pan(panorama, 10)
    outs = list(live(frames, STEADY, SMALL, engine=random_engine))
    assert len(outs) == 10 and all(o.image.shape == (H, W, 3) and o.size == (W, H) for o in outs)
    details = [detail(o.image, f) for o, f in zip(outs, frames, strict=True)]
    shifts = [shift(details[k - 1], details[k]) for k in range(2, 10)]
    assert all(abs(dx + DX) < 1 and abs(dy) < 1 for dx, dy in shifts), shifts
    assert outs[-1].depth > 1.5 * outs[0].depth  # the carried detail builds up over the frames


def square_clip(panorama: np.ndarray, n: int) -> tuple[list[np.ndarray], tuple[int, int, int, int]]:
    """A still scene with a square crossing it 4 px a frame; the square's last box (x0, y0, x1, y1)."""
    patch = np.asarray(Image.open(sample_path("astronaut")).convert("RGB").resize((24, 24)))
    frames = []
    for k in range(n):
        frame = panorama[:, :W].copy()
        frame[40:64, 8 + 4 * k : 32 + 4 * k] = patch
        frames.append(frame)
    x = 8 + 4 * (n - 1)
    return frames, (x, 40, x + 24, 64)


def test_deepen_grows_while_still_and_melts_where_it_moves(random_engine: Engine, panorama: np.ndarray) -> None:
    still = [panorama[:, :W]] * 14
    flow = [o.depth for o in live(still, STEADY, SMALL, engine=random_engine)]
    deepen = [o.depth for o in live(still, STEADY.replace(mood="deepen"), SMALL, engine=random_engine)]
    assert deepen[-1] > 1.3 * flow[-1] and deepen[-1] > deepen[-6] + 0.01, (flow, deepen)  # still growing

    frames, (x0, y0, x1, y1) = square_clip(panorama, 14)
    ratios = {}
    for mood in ("flow", "deepen"):
        last = list(live(frames, STEADY.replace(mood=mood), SMALL, engine=random_engine))[-1]
        added = np.abs(last.image / 255.0 - frames[-1] / 255.0).mean(-1)
        ratios[mood] = added[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4].mean() / added[4:30].mean()  # square / still top
        assert 0 < last.moving < 0.5  # the square moved, the rest did not
    assert ratios["deepen"] < 0.5 and ratios["flow"] > 0.8, ratios


def test_controls_change_on_the_next_frame_and_cancel_ends_the_stream(random_engine: Engine, cat_image) -> None:
    mirror = Mirror(random_engine, seed=0)
    first = mirror.step(cat_image, STEADY, SMALL)
    second = mirror.step(cat_image, STEADY.replace(mood="deepen"), SMALL.replace(max_side=64, steps=1))
    assert (first.size, first.steps) == ((96, 64), 2) and (second.size, second.steps) == ((64, 43), 1)
    assert second.index == 1 and second.depth > 0  # carried on at the new size, not restarted

    token = CancelToken()

    def frames() -> Iterator[Image.Image]:
        for i in range(10):
            if i == 2:
                token.cancel()
            yield cat_image

    assert len(list(live(frames(), STEADY, SMALL, engine=random_engine, cancel=token))) == 2
    token = CancelToken()  # a stop asked in the middle of a frame's steps: the stream ends within a step
    threading.Timer(0.5, token.cancel).start()
    started = time.perf_counter()
    assert list(live([cat_image], STEADY, SMALL.replace(steps=5000), engine=random_engine, cancel=token)) == []
    assert time.perf_counter() - started < 10


def test_adaptive_quality_lowers_steps_then_size_and_comes_back() -> None:
    governor = Governor()
    levels = []
    for _ in range(4 * SETTLE):
        levels.append(governor.budget(2, 256, 10.0))
        governor.record(0.3)  # three times over the 0.1 s budget
    assert levels[0] == (2, 256) and levels[SETTLE] == (1, 256) and levels[2 * SETTLE] == (1, 200)
    assert levels[-1][1] < 200 and "lowered to hold 10 fps: 1 step at" in governor.note()
    for _ in range(40):
        governor.budget(2, 256, 10.0)
        governor.record(0.005)  # now far under budget: the size comes back first, then the steps
    assert (governor.steps, governor.side) == (2, 256) and governor.note() is None
    for _ in range(20):  # at the floor and still too slow: it says so
        governor.budget(1, MIN_SIDE, 10.0)
        governor.record(1.0)
    assert governor.note() == "too slow to hold 10 fps even at 1 step at 96 px"
    free = Governor()
    for _ in range(10):
        free.budget(2, 256, 0.0)
        free.record(5.0)
    assert (free.steps, free.side) == (2, 256)  # target 0: never adapts


def test_bad_frames_and_settings_are_one_line_errors(random_engine: Engine, tmp_path: Path, cat: Path) -> None:
    with pytest.raises(DreamerError, match="^frame: cannot use a dict as an image"):
        list(live([{}], STEADY, SMALL, engine=random_engine))
    with pytest.raises(DreamerError, match="^guide: live frames take no guide image"):
        list(live([cat], STEADY, SMALL.replace(guide=str(cat)), engine=random_engine))
    with pytest.raises(DreamerError, match="mood must be one of flow, deepen"):
        LiveSpec(mood="sideways")
    run = CliRunner().invoke
    for args, message in [(["--mood", "sideways"], "'sideways' is not one of"), (["-s", "nosuch"], "no style")]:
        result = run(cli, ["live", *args])
        assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output, result.output


def test_the_command_opens_the_studio_on_the_live_tab(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("gradio", reason="the studio is the [studio] extra")
    import dreamer.studio

    built: dict[str, Any] = {}

    class Fake:
        def launch(self, **kwargs: Any) -> None:
            built.update(kwargs)

        def close(self) -> None:
            pass

    monkeypatch.setattr(dreamer.studio, "build", lambda engine, config: built.update(config=config) or Fake())
    args = ["live", "--mood", "deepen", "--steps", "1", "--max-side", "192", "-s", "swirls", "--port", "0"]
    result = CliRunner().invoke(cli, [*args, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    config = built["config"]
    assert (config.tab, config.live_style, config.live_spec.mood) == ("live", "swirls", "deepen")
    assert (config.live_base.steps, config.live_base.max_side, config.live_base.octaves) == (1, 192, 1)


def test_the_tabs_controls_apply_to_the_next_frame(random_engine: Engine, cat_image, tmp_path: Path) -> None:
    """Each frame reads the controls as they are: a new size or style shows on the next frame, no restart."""
    gr = pytest.importorskip("gradio", reason="the studio is the [studio] extra")
    import json

    from dreamer.studio import StudioConfig
    from dreamer.studio.live import LiveTab
    from dreamer.studio.server import Studio
    from dreamer.studio.session import Session

    with gr.Blocks():
        tab = LiveTab(Studio(random_engine, StudioConfig(cache=tmp_path, live_base=SMALL)), gr.State(None))
    values = [*tab.moods.values(STEADY), *tab.look.values(SMALL)]
    side = len(tab.moods.names) + tab.look.names.index("max_side")
    session, camera = Session(), np.asarray(cat_image)
    try:
        first = json.loads(tab.frame(session, camera, "clock:0:5.5", "(none)", *values))
        values[side] = 64
        second = json.loads(tab.frame(session, camera, "clock:0:9.5", "swirls", *values))
        assert decode(first["src"]).shape == (64, 96, 3) and decode(second["src"]).shape == (43, 64, 3)
        assert first["clock"] == "clock:0:5.5" and "2 steps at 64x43" in second["server"]
        assert session.live.mirror.index == 2  # the same stream carried on
        tab.frame(session, camera, "clock:1:20", "(none)", *values)
        assert session.live.mirror.index == 1  # the page's next stream: a fresh dream
        values[side] = 5
        with pytest.raises(gr.Error, match="max side must be at least 16"):
            tab.frame(session, camera, "clock:1:30", "(none)", *values)
    finally:
        session.close()
    layers = tab.on_style("swirls")[tab.look.names.index("layers")]
    assert layers == ["blocks.3", "blocks.4:0.3"]  # a style fills the look


# --- the Live tab in a real browser, fed by Chromium's fake camera ---


def decode(src: str) -> np.ndarray:
    """A data URL the page showed -> (H, W, 3) uint8."""
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))


def where_in(panorama: np.ndarray, frame: np.ndarray) -> tuple[int, float, float]:
    """(x, error there, median error elsewhere): the camera position whose picture the frame shows."""
    errors = [np.mean((grey(frame) - grey(panorama[:, x : x + W])) ** 2) for x in range(panorama.shape[1] - W + 1)]
    best = int(np.argmin(errors))
    return best, errors[best], float(np.median(errors))


WATCH = """
window.__views = [];
new MutationObserver(() => {
  const img = document.querySelector('#live-view');
  if (img.src.startsWith('data:') && window.__views.at(-1) !== img.src) window.__views.push(img.src);
}).observe(document.querySelector('#live-view'), {attributes: true, attributeFilter: ['src']});
true
"""
CAMERA = "#live-camera button[aria-label='capture photo']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_live_tab_mirrors_a_fake_camera_and_stop_ends_it(random_engine: Engine, panorama, tmp_path) -> None:
    pytest.importorskip("gradio", reason="the studio is the [studio] extra")
    from dreamer.studio import StudioConfig, serve

    path = chromium.find()
    if path is None:
        pytest.skip("Chromium is not installed")
    pytest.importorskip("websocket", reason="websocket-client is a test extra")
    frames = pan(panorama, 41)
    chromium.write_y4m(tmp_path / "pan.y4m", frames + frames[::-1], fps=10)  # there and back: it loops smoothly
    config = StudioConfig(cache=tmp_path / "cache", tab="live", live_spec=STEADY, live_base=SMALL)
    port = free_port()
    demo = serve(random_engine, config, port=port)
    try:
        with chromium.headless(path, tmp_path / "profile", camera=tmp_path / "pan.y4m") as page:
            page.call("Page.navigate", url=f"http://127.0.0.1:{port}/")
            grant = "#live-camera div[title='grant webcam access'] button"
            page.wait(f'!!document.querySelector("{grant}") && !!document.querySelector("#live-view")', 60, "tab")
            assert page.js(WATCH)
            page.js(f'document.querySelector("{grant}").click()')
            page.wait(f'!!document.querySelector("{CAMERA}")', 30, "the camera")
            page.js(f'document.querySelector("{CAMERA}").click()')  # Record
            page.wait("window.__views.length >= 12", 60, "twelve dreamed frames")
            meter = page.js("document.querySelector('#live-meter').innerText")
            server = page.js("document.querySelector('#live-server').innerText")
            assert meter.startswith("page: ") and " fps, " in meter and " ms from camera frame" in meter, meter
            assert server.startswith("server: ") and "2 steps at 96x72" in server, server
            page.js("document.querySelector('#live-stop').click()")
            time.sleep(1.5)  # a frame in flight may still land
            shown = page.js("window.__views.length")
            time.sleep(2)
            assert page.js("window.__views.length") == shown, "frames kept coming after Stop"
            assert page.js(f'document.querySelector("{CAMERA}").innerText') == "Record"
            views = [decode(v) for v in page.js("window.__views")]
    finally:
        demo.close()
    assert len(views) >= 12 and all(v.shape == (H, W, 3) for v in views)
    views = [v[:, ::-1] for v in views]  # the page mirrors the camera, like a mirror
    found = [where_in(panorama, v) for v in views]
    assert all(error < 0.3 * elsewhere for _, error, elsewhere in found), found  # each shows the camera's picture
    depths = [
        np.sqrt(np.mean(detail(v, panorama[:, x : x + W]) ** 2)) for v, (x, _, _) in zip(views, found, strict=True)
    ]
    assert np.median(depths[-5:]) > 1.5 * depths[0], depths  # a feedback loop: the dream builds up frame on frame
    followed = []
    for k in range(1, len(views)):
        (xa, _, _), (xb, _, _) = found[k - 1], found[k]
        moved = xb - xa
        if abs(moved) >= 1:  # the camera moved between these two dreams: the dream moved with it
            da = detail(views[k - 1], panorama[:, xa : xa + W])
            db = detail(views[k], panorama[:, xb : xb + W])
            followed.append((moved, shift(da, db)[0]))
    assert len(followed) >= 5 and all(abs(dx + moved) < 1.5 for moved, dx in followed), followed


def test_live_frames_leave_a_core_to_the_browser_and_put_threads_back() -> None:
    from dreamer.studio.live import _on_threads

    before = torch.get_num_threads()
    assert _on_threads(0, torch.get_num_threads) == max(1, before - 1)
    assert _on_threads(1, torch.get_num_threads) == 1
    with pytest.raises(ZeroDivisionError):
        _on_threads(1, lambda: 1 / 0)
    assert torch.get_num_threads() == before
