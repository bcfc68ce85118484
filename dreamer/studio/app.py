"""The studio's page: the Dream tab (photo, mask, style, every knob, streamed preview, result, history).

Controls come from the schema (``dreamer.studio.forms``); renders run on the server's one ``Engine``
in a worker thread (``dreamer.studio.session.stream``), one at a time across all tabs and sessions.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image, ImageChops

from dreamer.api import save_dream
from dreamer.engine.engine import Engine
from dreamer.errors import DreamerError
from dreamer.outputs.images import LoadedImage, load_image
from dreamer.samples import sample_names, sample_path
from dreamer.spec.resolve import from_file, resolve
from dreamer.spec.schema import Kind, knobs
from dreamer.spec.specs import DreamSpec
from dreamer.spec.styles import load_style, style_names
from dreamer.studio import tabs
from dreamer.studio.config import StudioConfig
from dreamer.studio.forms import Form, command, controls, named
from dreamer.studio.layers import STAR, cache_dir, layer_choices, open_thumbnails, thumbnails
from dreamer.studio.session import Session, public, stream, worker

ENGINE = "engine"  # the concurrency id every run shares: one run at a time on the server
NO_STYLE = "(none)"
FILES = [n for n, (_, k) in knobs(DreamSpec).items() if k.kind is Kind.FILE]


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


def painted_mask(editor: dict[str, Any] | None, session: Session) -> str | None:
    """The mask painted on the photo (light where painted), saved for the engine; None when nothing is painted."""
    if not editor or not editor.get("layers"):
        return None
    alpha = None
    for layer in editor["layers"]:
        a = layer.convert("RGBA").getchannel("A")
        alpha = a if alpha is None else ImageChops.lighter(alpha, a)
    if alpha is None or alpha.getbbox() is None:
        return None
    path = session.path("mask.png")
    alpha.convert("L").save(path)
    return str(path)


class Studio:
    """The app's handlers, holding the server's one engine and its settings."""

    def __init__(self, engine: Engine, config: StudioConfig) -> None:
        self.engine = engine
        self.config = config
        self.pool = worker()  # every torch call of this server on one thread (see dreamer.studio.session)
        self.models = config.models()
        self._layers: dict[str, list[tuple[str, str]]] = {}
        self.form: Form | None = None

    def layers(self, model: str) -> list[tuple[str, str]]:
        """The layer picker's choices for a model (computed once per model)."""
        if model not in self._layers:
            self.check_model(model)
            self._layers[model] = layer_choices(self.model(model))
        return self._layers[model]

    def model(self, name: str) -> Any:
        """The engine's model, loaded on the run thread (torch work never leaves that thread)."""
        return self.pool.submit(self.engine.model, name).result()

    def check_model(self, model: str) -> None:
        """Refuse a model the page may not pick (one that would download weights without --allow-downloads)."""
        if model not in self.models:
            raise gr.Error(
                f"model {model!r} is not available here; start the studio with --allow-downloads to use "
                "torchvision models (their weights download on first use)",
                print_exception=False,
            )

    def spec(self, form: Form, values: tuple[Any, ...], base: Any = None) -> Any:
        """The form's spec, or the page's error naming the bad value."""
        try:
            spec = form.spec(values, base=base)
        except DreamerError as exc:
            raise fail(exc, *[v for v in values if isinstance(v, str)]) from None
        self.check_model(spec.model)
        return spec

    # --- Dream tab handlers ---

    def on_photo(self, path: str | None) -> Any:
        """Show a new upload in the mask editor, or say what is wrong with it."""
        if not path:
            return None
        rgb = photo_of(path).rgb
        return {"background": rgb, "layers": [], "composite": rgb}

    def on_sample(self, name: str | None, session: Session) -> Any:
        """A bundled sample as if it were uploaded (a copy in the session's folder)."""
        if not name:
            return gr.skip()
        target = session.path(f"{name}.png")
        shutil.copyfile(sample_path(name), target)
        return str(target)

    def on_style(self, name: str | None, session: Session) -> list[Any]:
        """Fill every control from a style (its files copied into the session so the page can show them)."""
        assert self.form is not None
        if not name or name == NO_STYLE:
            return self.form.values(self.config.dream_base)
        try:
            spec = load_style(name).apply(self.config.dream_base)
        except DreamerError as exc:
            raise fail(exc) from None
        changes = {}
        for key in FILES:
            if value := getattr(spec, key):
                copy = session.path(Path(value).name)
                shutil.copyfile(value, copy)
                changes[key] = str(copy)
        return self.form.values(spec.replace(**changes))

    def render(
        self, session: Session, photo: str | None, editor: Any, style: str | None, *values: Any
    ) -> Iterator[tuple[Any, ...]]:
        """Dream the photo, yielding (preview, status, download, command, history) as the dream forms."""
        assert self.form is not None
        loaded = photo_of(photo)
        spec = self.spec(self.form, values, base=DreamSpec())
        mask = painted_mask(editor, session)
        if mask:
            spec = spec.replace(mask=mask)
        self.layers(spec.model)  # a model the page may pick, loaded before the clock starts
        provenance = {"style": style} if style and style != NO_STYLE else {}
        every = max(1, min(self.config.preview_steps, spec.steps // 2))
        token = session.start()

        def run(on_event: Any, cancel: Any) -> Image.Image:
            return self.engine.dream(
                loaded, spec, on_event=on_event, cancel=cancel, preview_every=every, provenance=provenance
            )

        skip = gr.skip()
        yield skip, "queued: starting…", skip, skip, skip
        shown: Image.Image | None = None  # the last preview sent: what a Stop leaves on the page
        try:
            for item in stream(run, token, self.pool):
                if item.kind == "warned":
                    gr.Warning(public(DreamerError(item.message), photo))
                elif item.kind == "step" and item.step is not None:
                    s, shown = item.step, item.step.preview
                    yield shown, f"step {s.done} of {s.total} (octave {s.octave + 1})", skip, skip, skip
                elif item.kind == "stopped":
                    done, total = (item.step.done, item.step.total) if item.step else (0, 0)
                    status = f"stopped after {done} of {total} steps (the preview shows where it got to)"
                    yield (shown if shown is not None else skip), status, skip, skip, skip
                elif item.kind == "done":
                    yield self._finish(session, item.result, loaded, photo)
        except DreamerError as exc:
            raise fail(exc, photo, *[v for v in values if isinstance(v, str)], mask) from None

    def _finish(self, session: Session, out: Image.Image, loaded: LoadedImage, photo: str | None) -> tuple[Any, ...]:
        """Save the dream with its settings, add it to the history; the last update of a render."""
        meta = out.info["dreamer"]
        for key in FILES:  # the page never shows server folders: files are named as they were uploaded
            if meta["spec"].get(key):
                meta["spec"][key] = Path(meta["spec"][key]).name
        name = Path(photo or "photo.png").stem
        path = save_dream(out, session.path(f"{name}_dream.png"))
        line = command(meta["spec"], f"{name}{Path(photo or '.png').suffix}", DreamSpec)
        session.history.append({"path": str(path), "spec": meta["spec"], "style": meta.get("style")})
        gallery = [(h["path"], f"#{i + 1} seed {h['spec']['seed']}") for i, h in enumerate(session.history)]
        status = f"done in {meta['seconds']:.1f} s · seed {meta['spec']['seed']} · {out.width}x{out.height}"
        return out, status, str(path), line, gallery

    def restore(self, session: Session, evt: gr.SelectData) -> list[Any]:
        """A history click: put that render's settings (and seed) back into the controls."""
        assert self.form is not None
        entry = session.history[evt.index]
        spec = resolve(DreamSpec, from_file(entry["spec"], "history", kinds=(Kind.LOOK,)))
        return [*self.form.values(spec, files=False), entry.get("style") or NO_STYLE]

    def show_thumbnails(self, model: str) -> list[tuple[Image.Image, str]]:
        """The layer thumbnails of a model (computed once, then read from the cache)."""
        self.check_model(model)
        try:
            job = self.pool.submit(thumbnails, self.engine, model, cache_dir(self.config.cache), self.config.thumb_spec)
            items = job.result()
        except DreamerError as exc:
            raise fail(exc) from None
        return open_thumbnails(items)

    def pick_layer(self, current: list[str] | None, evt: gr.SelectData) -> list[str]:
        """A thumbnail click adds its layer to the picker."""
        caption = str(evt.value.get("caption", "") if isinstance(evt.value, dict) else evt.value)
        name = caption.replace(STAR, "").split()[0] if caption.strip() else ""
        return [*(current or []), name] if name and name not in (current or []) else list(current or [])


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
                DreamSpec,
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
        [preview, status, download, line, history],
        concurrency_id=ENGINE,
        api_name="render",
    )
    stop.click(lambda s: s.stop(), [state], None, concurrency_limit=None, api_name="stop")
    history.select(studio.restore, [state], [*form.components, style], concurrency_limit=None, api_name=False)
    thumbs_box.expand(studio.show_thumbnails, [model_box], [thumbs], concurrency_id=ENGINE, api_name=False)
    thumbs.select(studio.pick_layer, [layer_boxes[0]], [layer_boxes[0]], concurrency_limit=None, api_name=False)
    return photo, form


def build(engine: Engine, config: StudioConfig | None = None) -> gr.Blocks:
    """The studio's Blocks app on one engine (tests inject one with random weights)."""
    studio = Studio(engine, config or StudioConfig())
    with gr.Blocks(title="dreamer studio") as demo:
        state = gr.State(lambda: Session(), delete_callback=lambda s: s.close())
        gr.Markdown(
            "## dreamer studio\nDeepDream and feature visualisation, live. One render at a time; "
            "each browser tab sees only its own images."
        )
        with gr.Tab("Dream"):
            photo, _ = dream_tab(studio, state)
        with gr.Tab("Feature grid"):
            tabs.grid_tab(studio, state)
        with gr.Tab("Activation maps"):
            tabs.maps_tab(studio, state, photo)
        with gr.Tab("Zoom"):
            tabs.zoom_tab(studio, state, photo)
    demo.queue(default_concurrency_limit=1)
    return demo


def serve(engine: Engine, config: StudioConfig | None = None, host: str = "127.0.0.1", port: int = 7860) -> gr.Blocks:
    """Build and start the app without blocking (tests, benchmarks); call ``.close()`` on the result."""
    config = config or StudioConfig()
    demo = build(engine, config)
    demo.launch(
        server_name=host, server_port=port, prevent_thread_lock=True, max_file_size=config.max_upload, quiet=True
    )
    return demo
