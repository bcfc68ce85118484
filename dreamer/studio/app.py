"""The studio's app: its tabs composed into one page on one engine, built and served.

Each tab is a module (``render``: the Dream tab, ``grid``, ``maps``, ``zoom``, ``live``) that lays itself
out and wires its handlers; they share the server (``dreamer.studio.server.Studio``: the engine,
its run thread, the settings) and one stream-to-page loop (``dreamer.studio.page.to_page``).
Renders run one at a time across all tabs and sessions.
"""

from __future__ import annotations

import gradio as gr

from dreamer.engine.engine import Engine
from dreamer.studio.config import StudioConfig
from dreamer.studio.grid import grid_tab
from dreamer.studio.live import LiveTab
from dreamer.studio.maps import maps_tab
from dreamer.studio.render import DreamTab
from dreamer.studio.server import Studio
from dreamer.studio.session import Session
from dreamer.studio.zoom import zoom_tab

QUEUE_POLL_S = 0.01  # how often the queue looks for a new job (see calm)


def build(engine: Engine, config: StudioConfig | None = None) -> gr.Blocks:
    """The studio's Blocks app on one engine (tests inject one with random weights)."""
    studio = Studio(engine, config or StudioConfig())
    with gr.Blocks(title="dreamer studio", analytics_enabled=False) as demo:  # no calls home: we never need a network
        files = studio.files  # (a State's value must deep-copy: a plain function, not the server's method)
        state = gr.State(lambda: Session(base=files), delete_callback=lambda s: s.close())
        gr.Markdown(
            "## dreamer studio\nDeepDream and feature visualisation, live. One render at a time; "
            "each browser tab sees only its own images."
        )
        with gr.Tabs(selected=studio.config.tab):
            with gr.Tab("Dream", id="dream"):
                photo = DreamTab(studio, state, demo).photo
            with gr.Tab("Feature grid", id="grid"):
                grid_tab(studio, state)
            with gr.Tab("Activation maps", id="maps"):
                maps_tab(studio, state, photo)
            with gr.Tab("Zoom", id="zoom"):
                zoom_tab(studio, state, photo)
            with gr.Tab("Live", id="live", elem_id="live-tab"):
                LiveTab(studio, state)
    demo.queue(default_concurrency_limit=1)
    calm(demo)
    return demo


def calm(demo: gr.Blocks) -> None:
    """Let Gradio's queue look for work every 10 ms, not every 1 ms (its loop's default on Linux).

    That loop woke the server a thousand times a second, idle or not: 4 % of a core when idle,
    and on a 2-core machine every wake-up stalls one of torch's two threads mid-step. Gradio has no
    public setting for it; ``tests/test_studio.py`` fails if the attributes move.
    """
    queue = getattr(demo, "_queue", None)
    for name, floor in (("sleep_when_free", QUEUE_POLL_S), ("progress_update_sleep_when_free", 5 * QUEUE_POLL_S)):
        if isinstance(getattr(queue, name, None), float):
            setattr(queue, name, max(getattr(queue, name), floor))


def serve(engine: Engine, config: StudioConfig | None = None, host: str = "127.0.0.1", port: int = 7860) -> gr.Blocks:
    """Build and start the app without blocking (tests, benchmarks); call ``.close()`` on the result."""
    config = config or StudioConfig()
    demo = build(engine, config)
    demo.launch(
        server_name=host, server_port=port, prevent_thread_lock=True, max_file_size=config.max_upload, quiet=True
    )
    return demo
