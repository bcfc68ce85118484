"""The Live tab: the browser's camera streamed in, each frame dreamed by the feedback loop and sent back.

The camera is Gradio's streaming image input (``gr.Image(sources=["webcam"], streaming=True)``): the
browser offers the newest camera frame every ``STREAM_EVERY`` seconds and the server takes the newest
one when it is ready for the next, so a slow frame never builds a queue. Each frame goes through the
session's ``Mirror`` (``dreamer.mirror.loop``, the loop ``dreamer.live`` runs) on the server's run
thread, with the controls' values as they are at that frame, so a change shows on the next frame.
The stream holds the engine like any run: other tabs' renders wait until it stops.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
import numpy as np
import torch

from dreamer.engine.styles import checked_style
from dreamer.errors import Cancelled, DreamerError
from dreamer.mirror.loop import LiveFrame, Mirror
from dreamer.spec.live import LiveSpec, live_look
from dreamer.spec.profiles import profile
from dreamer.spec.specs import DreamSpec
from dreamer.spec.styles import style_names
from dreamer.studio.forms import controls, named
from dreamer.studio.livepage import CLOCK, FEED_JS, STOP_JS, VIEW, VIEW_CSS, feed_message, stamp
from dreamer.studio.page import ENGINE
from dreamer.studio.server import Studio
from dreamer.studio.session import Session, fail

NO_STYLE = "(none)"
# Seconds between the frames the browser offers (the server takes the newest). Every offer costs the
# browser a capture and an encode and the server a request: at 256 px, 2 steps on 2 cores, 0.06 s gave
# 9.7 fps and 155 ms against 6.5 fps and 200 ms at 0.02 s (bench/live.py, RESULTS.md).
STREAM_EVERY = 0.06
FRESH_AFTER = 2.0  # seconds without a frame after which the next one starts a fresh dream (a new stream)
CAMERA = {"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}}  # no need for more: frames are small


def _on_threads(n: int, work: Callable[..., Any], *args: Any) -> Any:
    """``work(*args)`` with torch's intra-op threads set to ``n`` (0: all but one), then put back."""
    before = torch.get_num_threads()
    torch.set_num_threads(n or max(1, before - 1))
    try:
        return work(*args)
    finally:
        torch.set_num_threads(before)


@dataclass
class LiveRun:
    """A session's stream: its feedback loop, the page's number for it, when its last frames were done."""

    mirror: Mirror
    stream: str
    seen: float  # when a frame of it last came in or was done
    done: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=20))
    stopped: bool = False  # Stop was pressed: the frames it still sends are not dreamed

    def fresh_for(self, stream: str, now: float) -> bool:
        """Whether a frame of ``stream`` arriving at ``now`` starts a new dream (another stream, or a long pause)."""
        return stream != self.stream or now - self.seen > FRESH_AFTER


def server_line(frame: LiveFrame, done: collections.deque[float]) -> str:
    """The server's half of the page's meter: its rate, a frame's work, the quality in use and what adapted."""
    rate = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 and done[-1] > done[0] else 0.0
    w, h = frame.size
    line = (
        f"server: {rate:.1f} fps, {frame.seconds * 1000:.0f} ms a frame ({frame.flow_seconds * 1000:.0f} ms flow) · "
        f"{frame.steps} step{'s' if frame.steps != 1 else ''} at {w}x{h} · moving {frame.moving:.0%}"
    )
    return f"{line} · {frame.note}" if frame.note else line


class LiveTab:
    """The Live tab, laid out and wired in the Blocks being built."""

    def __init__(self, studio: Studio, state: gr.State) -> None:
        self.studio = studio
        config = studio.config
        layer_list = studio.layers(config.live_base.model)
        with gr.Row():
            with gr.Column(scale=2):
                camera = gr.Image(
                    sources=["webcam"],
                    streaming=True,
                    type="numpy",
                    label="Camera (Record starts the mirror)",
                    elem_id="live-camera",
                    webcam_options=gr.WebcamOptions(mirror=True, constraints=CAMERA),
                    height=300,
                )
                clock = gr.Textbox(CLOCK, visible=False)  # stamped by the page (see dreamer.studio.livepage)
                self.style = gr.Dropdown([NO_STYLE, *style_names()], value=config.live_style or NO_STYLE, label="Style")
                self.moods = controls(profile("studio-live").part(LiveSpec), config.live_spec, open_groups=("live",))
                self.look = controls(
                    profile("studio-live").part(DreamSpec),
                    config.live_base,
                    choices={"layers": layer_list},
                    open_groups=("layers", "steps", "octaves", "colour"),
                )
            with gr.Column(scale=3):
                gr.HTML(VIEW, css_template=VIEW_CSS)
                feed = gr.HTML("", html_template="", js_on_load=FEED_JS, elem_id="live-feed")
                stop = gr.Button("Stop", elem_id="live-stop")
        forms = [*self.moods.components, *self.look.components]
        camera.stream(
            named(self.frame, "session", "camera", "clock", "style", *self.moods.names, *self.look.names),
            [state, camera, clock, self.style, *forms],
            [feed],
            stream_every=STREAM_EVERY,
            concurrency_id=ENGINE,
            show_progress="hidden",
            api_name="live",
        )
        stop.click(self.stop, [state], None, js=STOP_JS, concurrency_limit=None, api_name="live_stop")
        self.style.change(self.on_style, [self.style], self.look.components, concurrency_limit=None, api_name=False)

    def base(self, style: str | None) -> DreamSpec:
        """The live dream under the controls: the server's, with the style's look (not its steps or size)."""
        base = self.studio.config.live_base
        if not style or style == NO_STYLE:
            return base
        try:
            return live_look(checked_style(style).settings, base)
        except DreamerError as exc:
            raise fail(exc) from None

    def on_style(self, style: str | None) -> list[Any]:
        """A style fills the look controls (the steps and size stay the live ones)."""
        return self.look.values(self.base(style))

    def specs(self, style: str | None, values: tuple[Any, ...]) -> tuple[LiveSpec, DreamSpec]:
        """The controls' values as the two specs, or the page's error naming the bad one."""
        n = len(self.moods.names)
        try:
            return self.moods.spec(values[:n]), self.look.spec(values[n:], base=self.base(style))
        except DreamerError as exc:
            raise fail(exc) from None

    def frame(
        self, session: Session, image: np.ndarray | None, clock: str | None, style: str | None, *values: Any
    ) -> Any:
        """One camera frame in, its dream out (as the feed's message), with the controls as they are now."""
        if image is None:
            return gr.skip()
        spec, dream = self.specs(style, values)
        stream, _ = stamp(clock)
        now, run = time.perf_counter(), session.live
        if run is None or run.fresh_for(stream, now):
            run = session.live = LiveRun(Mirror(self.studio.engine), stream, now)
            session.start()
        run.seen = now
        if run.stopped:
            return gr.skip()
        token = session.token
        try:
            threads = self.studio.config.live_threads
            out = self.studio.pool.submit(_on_threads, threads, run.mirror.step, image, spec, dream, token).result()
        except Cancelled:
            return gr.skip()
        except DreamerError as exc:
            raise fail(exc) from None
        run.seen = time.perf_counter()
        run.done.append(run.seen)
        return feed_message(out.image, clock, server_line(out, run.done))

    def stop(self, session: Session) -> None:
        """Stop: the frame in progress ends within a step, and the next stream starts a fresh dream."""
        session.stop()
        if session.live is not None:
            session.live.stopped = True
