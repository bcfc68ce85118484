"""The Feature grid tab: what each channel of a layer (or each class) wants to see, as ``dreamer grid`` makes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from dreamer.studio.page import channels_of, layer_picker, result_outputs, stream_sheet, vis_form, wire_run, wire_stop
from dreamer.studio.server import Studio
from dreamer.studio.session import Session

PREVIEWS = 8  # previews over a grid's run


def _names(text: str | None) -> list[str] | None:
    names = [t.strip() for t in (text or "").split(",") if t.strip()]
    return names or None


def grid_tab(studio: Studio, state: gr.State) -> None:
    """Lay out and wire the Feature grid tab in the Blocks being built."""
    with gr.Row():
        with gr.Column(scale=2):
            layer = layer_picker(studio)
            channels = gr.Textbox("0-7", label="channels", info="e.g. 0-15 or 3,17,42")
            classes = gr.Textbox(
                "", label="classes", info="ImageNet names instead of channels, e.g. goldfish, flamingo"
            )
            form = vis_form(studio, "studio-grid")
        with gr.Column(scale=3):
            image, status, go, stop, download = result_outputs("grid")

    def run_grid(session: Session, layer: str, channels: str, classes: str, *values: Any) -> Iterator[Any]:
        spec = studio.spec(form, values)
        names = _names(classes)
        options = {"classes": names} if names else {"layer": layer, "channels": channels_of(channels)}
        every = max(1, spec.step_count // PREVIEWS)  # steps None (an emptied box): the parametrisation's default

        def run(report: Any, cancel: Any) -> Any:
            return studio.engine.grid(spec, on_event=report, cancel=cancel, preview_every=every, **options)

        yield from stream_sheet(studio, session, run, "grid.png")

    names = ["session", "layer", "channels", "classes", *form.names]
    inputs = [state, layer, channels, classes, *form.components]
    wire_run(go, state, run_grid, names, inputs, [image, status, download], api_name="grid")
    wire_stop(stop, state)
