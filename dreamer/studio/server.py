"""What the tabs share on a server: its one engine, the thread its torch work runs on, its settings.

Every torch call of a server (model loading, layer lists, thumbnails, runs) goes through ``pool``,
the one run thread (see ``dreamer.studio.session``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from dreamer.engine.engine import Engine
from dreamer.errors import DreamerError
from dreamer.outputs.cache import cache_dir
from dreamer.studio.config import StudioConfig
from dreamer.studio.forms import Form
from dreamer.studio.layers import layer_choices, open_thumbnails, thumbnails
from dreamer.studio.session import fail, worker


class Studio:
    """The server's one engine and its settings, for every tab and session."""

    def __init__(self, engine: Engine, config: StudioConfig) -> None:
        self.engine = engine
        self.config = config
        self.pool = worker()  # every torch call of this server on one thread (see dreamer.studio.session)
        self.models = config.models()
        self._layers: dict[str, list[tuple[str, str]]] = {}
        # Every session's files in one folder of the server's, removed when the process ends (Ctrl-C
        # included): Gradio drops a closed tab's session an hour later, and never at shutdown.
        self._files = tempfile.TemporaryDirectory(prefix="dreamer-studio-")
        self.files = Path(self._files.name)

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

    def show_thumbnails(self, model: str) -> list[tuple[Image.Image, str]]:
        """The layer thumbnails of a model (computed once, then read from the cache)."""
        self.check_model(model)
        try:
            job = self.pool.submit(thumbnails, self.engine, model, cache_dir(self.config.cache), self.config.thumb_spec)
            items = job.result()
        except DreamerError as exc:
            raise fail(exc) from None
        return open_thumbnails(items)
