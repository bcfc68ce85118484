"""The Activation maps tab: where the Dream tab's photo excites a layer's channels, beside what they want to see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from dreamer.errors import DreamerError
from dreamer.studio.page import channels_of, layer_picker, result_outputs, stream_sheet, vis_form, wire_run, wire_stop
from dreamer.studio.server import Studio
from dreamer.studio.session import Session, fail, photo_of


def maps_tab(studio: Studio, state: gr.State, photo: gr.File) -> None:
    """Lay out and wire the Activation maps tab in the Blocks being built; ``photo`` is the Dream tab's upload."""
    with gr.Row():
        with gr.Column(scale=2):
            gr.Markdown("Uses the photo uploaded in the Dream tab.")
            layer = layer_picker(studio)
            top = gr.Number(6, precision=0, label="top", info="the channels that respond most to the photo")
            channels = gr.Textbox("", label="channels", info="instead of top, e.g. 3,17,42")
            form = vis_form(studio, "studio-maps")
        with gr.Column(scale=3):
            image, status, go, stop, download = result_outputs("maps")

    def run_maps(
        session: Session, path: str | None, layer: str, top: Any, channels: str, *values: Any
    ) -> Iterator[Any]:
        loaded = photo_of(path)
        spec = studio.spec(form, values)
        chosen = channels_of(channels)
        if chosen is None and (not isinstance(top, (int, float)) or top < 1):
            raise fail(DreamerError(f"top must be at least 1 (got {top!r})"))
        options = {"channels": chosen} if chosen else {"top": int(top)}

        def run(report: Any, cancel: Any) -> Any:
            return studio.engine.maps(loaded, layer, spec, on_event=report, cancel=cancel, **options)

        yield from stream_sheet(studio, session, run, "maps.png")

    names = ["session", "photo", "layer", "top", "channels", *form.names]
    inputs = [state, photo, layer, top, channels, *form.components]
    wire_run(go, state, run_maps, names, inputs, [image, status, download], api_name="maps")
    wire_stop(stop, state)
