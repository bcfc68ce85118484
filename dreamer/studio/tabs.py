"""The tabs' layouts and wiring: the Dream tab, feature grids, activation maps, a short zoom preview.

The Dream tab's handlers are ``Studio``'s methods (``dreamer.studio.app``); the other tabs call the
same library function as their CLI command (``engine.grid``, ``engine.maps``,
``dreamer.animate.zoom.zoom``) and stream through the same worker as a dream.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import gradio as gr

from dreamer.api import save_dream
from dreamer.core.objectives import parse_channels
from dreamer.engine.events import Step
from dreamer.errors import DreamerError
from dreamer.samples import sample_names
from dreamer.spec.profiles import profile
from dreamer.spec.specs import DreamSpec, MotionSpec, VisSpec
from dreamer.spec.styles import style_names
from dreamer.studio.forms import Form, controls, named
from dreamer.studio.session import Session, fail, photo_of, stream

if TYPE_CHECKING:
    from dreamer.studio.app import Studio

ENGINE = "engine"  # the concurrency id every run shares: one run at a time on the server
NO_STYLE = "(none)"


def _names(text: str | None) -> list[str] | None:
    names = [t.strip() for t in (text or "").split(",") if t.strip()]
    return names or None


def _channels(text: str | None) -> list[int] | None:
    return parse_channels(text, "channels") if text and text.strip() else None


def dream_tab(studio: Studio, state: gr.State) -> tuple[gr.File, Form]:
    """Build the Dream tab; returns the photo upload (the other tabs read it) and the knob form."""
    config = studio.config
    model = config.dream_base.model
    layer_list = studio.layers(model)
    with gr.Row():
        with gr.Column(scale=2):
            photo = gr.File(label="Photo (upload)", type="filepath", elem_id="photo")
            sample = gr.Dropdown(sample_names(), value=None, label="…or a bundled sample")
            editor = gr.ImageEditor(
                label="Mask: paint where to dream (nothing painted: everywhere)",
                type="pil",
                sources=(),
                transforms=(),
                layers=False,
                brush=gr.Brush(colors=["#ffffff"], color_mode="fixed", default_size=24),
                height=320,
            )
            style = gr.Dropdown([NO_STYLE, *style_names()], value=NO_STYLE, label="Style (fills the controls)")
            form = controls(
                profile("studio-dream").part(DreamSpec),
                config.dream_base,
                choices={"model": studio.models, "layers": layer_list, "guide_layer": layer_list},
                open_groups=("layers",),
            )
            studio.form = form
            with gr.Accordion("Layer thumbnails (click one to add it)", open=False) as thumbs_box:
                thumbs = gr.Gallery(
                    label="What each layer sees (★ recommended)", columns=4, allow_preview=False, elem_id="thumbs"
                )
        with gr.Column(scale=3):
            preview = gr.Image(label="Dream", format="jpeg", interactive=False, elem_id="preview", height=480)
            status = gr.Markdown(elem_id="status")
            with gr.Row():
                go = gr.Button("Dream", variant="primary", elem_id="go")
                stop = gr.Button("Stop", elem_id="stop")
            download = gr.File(label="PNG with its settings", interactive=False, elem_id="download")
            line = gr.Textbox(label="Copy as command", buttons=["copy"], interactive=False, elem_id="command")
            history = gr.Gallery(
                label="This session's dreams (click one to restore its settings)",
                columns=4,
                allow_preview=False,
                object_fit="contain",
                elem_id="history",
            )
    photo.change(studio.on_photo, [photo], [editor], concurrency_limit=None, api_name=False)
    sample.change(studio.on_sample, [sample, state], [photo], concurrency_limit=None, api_name=False)
    style.change(studio.on_style, [style, state], form.components, concurrency_limit=None, api_name=False)
    model_box = form.components[form.names.index("model")]
    layer_boxes = [form.components[form.names.index(n)] for n in ("layers", "guide_layer")]
    model_box.change(
        lambda m: [gr.update(choices=studio.layers(m))] * 2,
        [model_box],
        layer_boxes,
        concurrency_id=ENGINE,
        api_name=False,
    )
    go.click(
        named(studio.render, "session", "photo", "painted_mask", "style", *form.names),
        [state, photo, editor, style, *form.components],
        [preview, status],
        concurrency_id=ENGINE,
        api_name="render",
    ).success(studio.result, [state], [download, line, history], concurrency_limit=None, api_name="result")
    stop.click(lambda s: s.stop(), [state], None, concurrency_limit=None, api_name="stop")
    history.select(studio.restore, [state], [*form.components, style], concurrency_limit=None, api_name=False)
    thumbs_box.expand(studio.show_thumbnails, [model_box], [thumbs], concurrency_id=ENGINE, api_name=False)
    thumbs.select(studio.pick_layer, [layer_boxes[0]], [layer_boxes[0]], concurrency_limit=None, api_name=False)
    return photo, form


def _sheet(studio: Studio, session: Session, run: Any, name: str) -> Iterator[tuple[Any, Any, Any]]:
    """Stream a sheet-making run: (preview, status, download) updates, then the saved sheet."""
    try:  # no download while it runs (and None, not a Gradio "no change", which rebuilds the component)
        for item in stream(run, session.start(), studio.pool):
            if item.kind == "step" and item.step is not None:
                yield item.step.preview, f"step {item.step.done} of {item.step.total}", None
            elif item.kind == "stopped":
                yield gr.skip(), "stopped (the preview shows where it got to)", None
            elif item.kind == "done":
                path = save_dream(item.result, session.path(name))
                yield item.result, f"done in {item.result.info['dreamer']['seconds']:.1f} s", str(path)
    except DreamerError as exc:
        raise fail(exc) from None


def _outputs(prefix: str, download: str = "PNG with its settings") -> tuple[Any, ...]:
    image = gr.Image(label="Result", interactive=False, elem_id=f"{prefix}-image", height=480)
    status = gr.Markdown(elem_id=f"{prefix}-status")
    with gr.Row():
        go = gr.Button("Run", variant="primary", elem_id=f"{prefix}-go")
        stop = gr.Button("Stop", elem_id=f"{prefix}-stop")
    download = gr.File(label=download, interactive=False, elem_id=f"{prefix}-download")
    return image, status, go, stop, download


def _default_layer(studio: Studio) -> str | None:
    """The model's default dream layer: where the grid and maps tabs start."""
    recommended = studio.model(studio.config.vis_base.model).spec.dream_layers
    return recommended[0] if recommended else None


def _vis_form(studio: Studio, tab: str) -> Form:
    part = profile(tab).part(VisSpec)
    return controls(part, studio.config.vis_base, choices={"model": studio.models}, open_groups=("steps",))


def grid_tab(studio: Studio, state: gr.State) -> None:
    """Feature grid: what each channel of a layer (or each class) wants to see."""
    layers = studio.layers(studio.config.vis_base.model)
    with gr.Row():
        with gr.Column(scale=2):
            layer = gr.Dropdown(layers, value=_default_layer(studio), allow_custom_value=True, label="layer")
            channels = gr.Textbox("0-7", label="channels", info="e.g. 0-15 or 3,17,42")
            classes = gr.Textbox(
                "", label="classes", info="ImageNet names instead of channels, e.g. goldfish, flamingo"
            )
            form = _vis_form(studio, "studio-grid")
        with gr.Column(scale=3):
            image, status, go, stop, download = _outputs("grid")

    def run_grid(session: Session, layer: str, channels: str, classes: str, *values: Any) -> Iterator[Any]:
        spec = studio.spec(form, values)
        try:
            options = (
                {"classes": _names(classes)} if _names(classes) else {"layer": layer, "channels": _channels(channels)}
            )
        except DreamerError as exc:
            raise fail(exc) from None
        every = max(1, spec.steps // 8)

        def run(on_event: Any, cancel: Any) -> Any:
            return studio.engine.grid(spec, on_event=on_event, cancel=cancel, preview_every=every, **options)

        yield from _sheet(studio, session, run, "grid.png")

    go.click(
        named(run_grid, "session", "layer", "channels", "classes", *form.names),
        [state, layer, channels, classes, *form.components],
        [image, status, download],
        concurrency_id=ENGINE,
        api_name="grid",
    )
    stop.click(lambda s: s.stop(), [state], None, concurrency_limit=None, api_name=False)


def maps_tab(studio: Studio, state: gr.State, photo: gr.File) -> None:
    """Activation maps: where the Dream tab's photo excites a layer's channels, beside what they want to see."""
    layers = studio.layers(studio.config.vis_base.model)
    with gr.Row():
        with gr.Column(scale=2):
            gr.Markdown("Uses the photo uploaded in the Dream tab.")
            layer = gr.Dropdown(layers, value=_default_layer(studio), allow_custom_value=True, label="layer")
            top = gr.Number(6, precision=0, label="top", info="the channels that respond most to the photo")
            channels = gr.Textbox("", label="channels", info="instead of top, e.g. 3,17,42")
            form = _vis_form(studio, "studio-maps")
        with gr.Column(scale=3):
            image, status, go, stop, download = _outputs("maps")

    def run_maps(session: Session, path: str | None, layer: str, top: Any, channels: str, *values: Any) -> Any:
        loaded = photo_of(path)
        spec = studio.spec(form, values)
        try:
            chosen = _channels(channels)
            if chosen is None and (not isinstance(top, (int, float)) or top < 1):
                raise DreamerError(f"top must be at least 1 (got {top!r})")
        except DreamerError as exc:
            raise fail(exc) from None
        options = {"channels": chosen} if chosen else {"top": int(top)}

        def run(on_event: Any, cancel: Any) -> Any:
            return studio.engine.maps(loaded, layer, spec, on_event=on_event, cancel=cancel, **options)

        yield from _sheet(studio, session, run, "maps.png")

    go.click(
        named(run_maps, "session", "photo", "layer", "top", "channels", *form.names),
        [state, photo, layer, top, channels, *form.components],
        [image, status, download],
        concurrency_id=ENGINE,
        api_name="maps",
    )
    stop.click(lambda s: s.stop(), [state], None, concurrency_limit=None, api_name=False)


def zoom_tab(studio: Studio, state: gr.State, photo: gr.File) -> None:
    """A short zoom animation of the Dream tab's photo, frames streamed as they finish, then a GIF."""
    config = studio.config
    with gr.Row():
        with gr.Column(scale=2):
            gr.Markdown(
                f"Uses the photo uploaded in the Dream tab; a preview of at most {config.max_frames} frames "
                f"at {config.zoom_spec.max_side} px (`dreamer zoom` makes long ones)."
            )
            form = controls(profile("studio-zoom").part(MotionSpec), config.zoom_motion, open_groups=("motion",))
        with gr.Column(scale=3):
            image, status, go, stop, download = _outputs("zoom", "GIF")

    def run_zoom(session: Session, path: str | None, *values: Any) -> Iterator[Any]:
        from dreamer.animate.zoom import zoom
        from dreamer.outputs.animation import assemble

        loaded = photo_of(path)
        try:
            motion = form.spec(values)
        except DreamerError as exc:
            raise fail(exc) from None
        if motion.frames > config.max_frames:
            raise gr.Error(
                f"frames: the studio previews at most {config.max_frames} (got {motion.frames}); "
                "use `dreamer zoom` for longer animations",
                print_exception=False,
            )
        folder = session.path("frames")
        folder.mkdir()

        def run(on_event: Any, cancel: Any) -> Any:
            paths = []
            for i, frame in enumerate(zoom(loaded, motion, config.zoom_spec, engine=studio.engine, cancel=cancel)):
                paths.append(folder / f"frame_{i:05d}.png")
                frame.save(paths[-1])
                on_event(Step(i + 1, motion.frames, 0, i, 0.0, frame))
            gif = folder.parent / "zoom.gif"
            assemble(paths, gif, motion.fps)
            return gif

        try:
            for item in stream(run, session.start(), studio.pool):
                if item.kind == "step" and item.step is not None:
                    yield item.step.preview, f"frame {item.step.done} of {item.step.total}", None
                elif item.kind == "stopped":
                    yield gr.skip(), "stopped (no GIF: the frames so far are shown)", None
                elif item.kind == "done":
                    yield str(item.result), f"{motion.frames} frames at {motion.fps:g} fps", str(item.result)
        except DreamerError as exc:
            raise fail(exc) from None

    go.click(
        named(run_zoom, "session", "photo", *form.names),
        [state, photo, *form.components],
        [image, status, download],
        concurrency_id=ENGINE,
        api_name="zoom",
    )
    stop.click(lambda s: s.stop(), [state], None, concurrency_limit=None, api_name=False)
