"""The studio's app: its handlers (the Dream tab's photo, mask, style, render, result and history), built and served.

Controls come from the schema (``dreamer.studio.forms``), layouts from ``dreamer.studio.tabs``;
renders run on the server's one ``Engine`` in a worker thread (``dreamer.studio.session.stream``),
one at a time across all tabs and sessions.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image, ImageChops

from dreamer.engine.engine import Engine
from dreamer.errors import DreamerError
from dreamer.outputs.images import save_dream
from dreamer.samples import sample_path
from dreamer.spec.resolve import from_file, resolve
from dreamer.spec.schema import Kind, knobs
from dreamer.spec.specs import DreamSpec
from dreamer.spec.styles import load_style
from dreamer.studio import tabs
from dreamer.studio.config import StudioConfig
from dreamer.studio.forms import Form, command
from dreamer.studio.layers import STAR, cache_dir, layer_choices, open_thumbnails, thumbnails
from dreamer.studio.session import Session, fail, photo_of, public, stream, worker
from dreamer.studio.tabs import NO_STYLE

QUEUE_POLL_S = 0.01  # how often the queue looks for a new job (see calm)
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
            self._layers[model] = self.pool.submit(layer_choices, self.model(model)).result()
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
    ) -> Iterator[tuple[Any, str]]:
        """Dream the photo, yielding (preview, status) as it forms, then the dream.

        Only the preview and the status change while it runs: a Gradio "no change" for any other
        output rebuilds that component (milliseconds each, every preview), so the download, command
        line and history are filled by ``result``, the event that follows a finished render. The PNG
        with its settings is written on the run thread while the page fetches the dream.
        """
        assert self.form is not None
        session.finished = None
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

        shown: Any = gr.skip()  # the last preview sent: what a Stop leaves on the page
        try:
            for item in stream(run, token, self.pool):
                s = item.step
                if item.kind == "warned":
                    gr.Warning(public(DreamerError(item.message), photo))
                elif item.kind == "step" and s is not None and s.done < s.total:  # the last one is the result
                    # Each octave's last step, and every few on the largest: each preview costs the
                    # server and the page a few milliseconds of CPU that the render would have used.
                    if s.step == spec.steps - 1 or s.octave == s.total // spec.steps - 1:
                        shown = s.preview
                        yield shown, f"step {s.done} of {s.total} (octave {s.octave + 1})"
                elif item.kind == "stopped":
                    done, total = (s.done, s.total) if s else (0, 0)
                    yield shown, f"stopped after {done} of {total} steps (the preview shows where it got to)"
                elif item.kind == "done":
                    out = item.result
                    session.finished = self.pool.submit(self._save, session, out, photo)
                    seed, seconds = out.info["dreamer"]["spec"]["seed"], out.info["dreamer"]["seconds"]
                    yield out, f"done in {seconds:.1f} s · seed {seed} · {out.width}x{out.height}"
        except DreamerError as exc:
            raise fail(exc, photo, *[v for v in values if isinstance(v, str)], mask) from None

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
            photo, _ = tabs.dream_tab(studio, state)
        with gr.Tab("Feature grid"):
            tabs.grid_tab(studio, state)
        with gr.Tab("Activation maps"):
            tabs.maps_tab(studio, state, photo)
        with gr.Tab("Zoom"):
            tabs.zoom_tab(studio, state, photo)
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
