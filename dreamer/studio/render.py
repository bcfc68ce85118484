"""The Dream tab: a photo, a painted mask, a style and every knob; the dream streamed, saved and kept in a history."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image, ImageChops

from dreamer.engine.styles import checked_style
from dreamer.errors import DreamerError
from dreamer.outputs.images import save_dream
from dreamer.samples import DEFAULT_SAMPLE, sample_names, sample_path
from dreamer.spec.profiles import profile
from dreamer.spec.resolve import from_file, resolve
from dreamer.spec.schema import Kind, knobs
from dreamer.spec.specs import DreamSpec
from dreamer.spec.styles import style_names
from dreamer.studio.forms import command, controls
from dreamer.studio.layers import STAR
from dreamer.studio.page import ENGINE, to_page, wire_run, wire_stop
from dreamer.studio.server import Studio
from dreamer.studio.session import Item, Session, fail, photo_of

NO_STYLE = "(none)"
THUMB_SIDE = 160  # the history strip's pictures
FILES = [n for n, (_, k) in knobs(DreamSpec).items() if k.kind is Kind.FILE]


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


def pick_layer(current: list[str] | None, evt: gr.SelectData) -> list[str]:
    """A thumbnail click adds its layer to the picker."""
    caption = str(evt.value.get("caption", "") if isinstance(evt.value, dict) else evt.value)
    name = caption.replace(STAR, "").split()[0] if caption.strip() else ""
    return [*(current or []), name] if name and name not in (current or []) else list(current or [])


class DreamTab:
    """The Dream tab, laid out and wired in the Blocks being built; ``photo`` is the upload the other tabs read."""

    def __init__(self, studio: Studio, state: gr.State, page: gr.Blocks) -> None:
        self.studio = studio
        config = studio.config
        layer_list = studio.layers(config.dream_base.model)
        with gr.Row():
            with gr.Column(scale=2):
                self.photo = gr.File(label="Photo (upload)", type="filepath", elem_id="photo")
                sample = gr.Dropdown(sample_names(), value=None, label="…or a bundled sample")
                editor = gr.ImageEditor(
                    label="Mask: paint where to dream (nothing painted: everywhere)",
                    type="pil",
                    sources=(),
                    transforms=(),
                    layers=False,
                    brush=gr.Brush(colors=["#ffffff"], color_mode="fixed", default_size=24),
                    height=320,
                    visible=False,  # shown with a photo: an empty canvas only said "select the draw tool"
                )
                style = gr.Dropdown([NO_STYLE, *style_names()], value=NO_STYLE, label="Style (fills the controls)")
                self.form = form = controls(
                    profile("studio-dream").part(DreamSpec),
                    config.dream_base,
                    choices={"model": studio.models, "layers": layer_list, "guide_layer": layer_list},
                    open_groups=("layers",),
                )
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
        free = {"concurrency_limit": None, "api_name": False}  # handlers that touch no torch: outside the queue
        self.photo.change(self.on_photo, [self.photo], [editor], **free)
        sample.change(self.on_sample, [sample, state], [self.photo], **free)
        page.load(self.first_photo, [state], [sample, self.photo, editor], **free)
        style.change(self.on_style, [style, state], form.components, **free)
        model_box = form.components[form.names.index("model")]
        layer_boxes = [form.components[form.names.index(n)] for n in ("layers", "guide_layer")]
        model_box.change(
            lambda m: [gr.update(choices=studio.layers(m))] * 2,
            [model_box],
            layer_boxes,
            concurrency_id=ENGINE,
            api_name=False,
        )
        names = ["session", "photo", "painted_mask", "style", *form.names]
        inputs = [state, self.photo, editor, style, *form.components]
        rendered = wire_run(go, state, self.render, names, inputs, [preview, status], api_name="render")
        rendered.success(self.result, [state], [download, line, history], concurrency_limit=None, api_name="result")
        wire_stop(stop, state, api_name="stop")
        history.select(self.restore, [state], [*form.components, style], **free)
        thumbs_box.expand(studio.show_thumbnails, [model_box], [thumbs], concurrency_id=ENGINE, api_name=False)
        thumbs.select(pick_layer, [layer_boxes[0]], [layer_boxes[0]], **free)

    def on_photo(self, path: str | None) -> Any:
        """Show a new upload in the mask editor, or say what is wrong with it."""
        if not path:
            return gr.update(value=None, visible=False)
        rgb = photo_of(path).rgb
        return gr.update(value={"background": rgb, "layers": [], "composite": rgb}, visible=True)

    def first_photo(self, session: Session) -> tuple[str, str, Any]:
        """The page opens with the default sample chosen and in the mask editor: the first click dreams."""
        path = self.on_sample(DEFAULT_SAMPLE, session)
        return DEFAULT_SAMPLE, path, self.on_photo(path)

    def on_sample(self, name: str | None, session: Session) -> Any:
        """A bundled sample as if it were uploaded (a copy in the session's folder)."""
        if not name:
            return gr.skip()
        target = session.path(f"{name}.png")
        shutil.copyfile(sample_path(name), target)
        return str(target)

    def on_style(self, name: str | None, session: Session) -> list[Any]:
        """Fill every control from a style (its files copied into the session so the page can show them)."""
        base = self.studio.config.dream_base
        if not name or name == NO_STYLE:
            return self.form.values(base)
        try:
            spec = checked_style(name).apply(base)
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
    ) -> Iterator[tuple[Any, str]]:
        """Dream the photo, yielding (preview, status) as it forms, then the dream.

        Only the preview and the status change while it runs: a Gradio "no change" for any other
        output rebuilds that component (milliseconds each, every preview), so the download, command
        line and history are filled by ``result``, the event that follows a finished render. The PNG
        with its settings is written on the run thread while the page fetches the dream.
        """
        studio = self.studio
        session.finished = None
        loaded = photo_of(photo)
        spec = studio.spec(self.form, values, base=DreamSpec())
        mask = painted_mask(editor, session)
        if mask:
            spec = spec.replace(mask=mask)
        studio.layers(spec.model)  # a model the page may pick, loaded before the clock starts
        provenance = {"style": style} if style and style != NO_STYLE else {}
        every = max(1, min(studio.config.preview_steps, spec.steps // 2))

        def run(report: Any, cancel: Any) -> Image.Image:
            return studio.engine.dream(
                loaded, spec, on_event=report, cancel=cancel, preview_every=every, provenance=provenance
            )

        def status(item: Item) -> str | None:
            s = item.step
            if s is None or s.done >= s.total:  # the last one is the result
                return None
            # Each octave's last step, and every few on the largest: each preview costs the server
            # and the page a few milliseconds of CPU that the render would have used.
            if s.step == spec.steps - 1 or s.octave == s.total // spec.steps - 1:
                return f"step {s.done} of {s.total} (octave {s.octave + 1})"
            return None

        def stopped(item: Item) -> str:
            done, total = (item.step.done, item.step.total) if item.step else (0, 0)
            return f"stopped after {done} of {total} steps (the preview shows where it got to)"

        def done(out: Image.Image) -> tuple[Any, str]:
            session.finished = studio.pool.submit(self._save, session, out, photo)
            seed, seconds = out.info["dreamer"]["spec"]["seed"], out.info["dreamer"]["seconds"]
            return out, f"done in {seconds:.1f} s · seed {seed} · {out.width}x{out.height}"

        strings = [v for v in values if isinstance(v, str)]
        yield from to_page(
            run, session, studio.pool, status=status, stopped=stopped, done=done, paths=[photo, *strings, mask]
        )

    def _save(self, session: Session, out: Image.Image, photo: str | None) -> dict[str, Any]:
        """Save the dream with its settings and a history thumbnail; its history entry."""
        meta = out.info["dreamer"]
        for key in FILES:  # the page never shows server folders: files are named as they were uploaded
            if meta["spec"].get(key):
                meta["spec"][key] = Path(meta["spec"][key]).name
        name = Path(photo or "photo.png").stem
        path = save_dream(out, session.path(f"{name}_dream.png"))
        thumb = out.copy()
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
        thumb.save(path.with_name("thumb.jpg"), quality=85)
        line = command(meta["spec"], f"{name}{Path(photo or '.png').suffix}", DreamSpec)
        entry = {"path": str(path), "spec": meta["spec"], "style": meta.get("style"), "line": line}
        session.history.append(entry)
        return entry

    def result(self, session: Session) -> Any:
        """After a render: its PNG to download, its command line and the history strip (nothing after a Stop)."""
        if session.finished is None:
            return gr.skip()
        try:
            entry = session.finished.result()
        except DreamerError as exc:  # the disk is full, say
            raise fail(exc) from None
        finally:
            session.finished = None
        gallery = [
            (str(Path(h["path"]).with_name("thumb.jpg")), f"#{i + 1} seed {h['spec']['seed']}")
            for i, h in enumerate(session.history)
        ]
        return entry["path"], entry["line"], gallery

    def restore(self, session: Session, evt: gr.SelectData) -> list[Any]:
        """A history click: put that render's settings (and seed) back into the controls."""
        entry = session.history[evt.index]
        spec = resolve(DreamSpec, from_file(entry["spec"], "history", kinds=(Kind.LOOK,)))
        return [*self.form.values(spec, files=False), entry.get("style") or NO_STYLE]
