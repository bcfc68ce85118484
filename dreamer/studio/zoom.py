"""The Zoom tab: a short zoom animation of the Dream tab's photo, each frame shown as it finishes, then a GIF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from dreamer.engine.events import CancelToken
from dreamer.errors import DreamerError
from dreamer.outputs.images import LoadedImage
from dreamer.spec.profiles import profile
from dreamer.spec.specs import MotionSpec
from dreamer.studio.forms import controls
from dreamer.studio.page import result_outputs, to_page, wire_run, wire_stop
from dreamer.studio.server import Studio
from dreamer.studio.session import Frame, Report, Run, Session, fail, photo_of


def zoom_run(studio: Studio, photo: LoadedImage, motion: MotionSpec, folder: Path) -> Run:
    """The tab's job: zoom's frames written into ``folder`` and reported as they finish, then the GIF.

    The frames' own dream events go to the page as they are (warnings shown, steps counted).
    """
    from dreamer.animate.zoom import zoom
    from dreamer.outputs.animation import assemble

    def run(report: Report, cancel: CancelToken) -> Path:
        frames = zoom(photo, motion, studio.config.zoom_spec, engine=studio.engine, on_event=report, cancel=cancel)
        paths = []
        for i, frame in enumerate(frames):
            paths.append(folder / f"frame_{i:05d}.png")
            frame.save(paths[-1])
            report(Frame(i + 1, motion.frames, frame))
        gif = folder.parent / "zoom.gif"
        assemble(paths, gif, motion.fps)
        return gif

    return run


def zoom_tab(studio: Studio, state: gr.State, photo: gr.File) -> None:
    """Lay out and wire the Zoom tab in the Blocks being built; ``photo`` is the Dream tab's upload."""
    config = studio.config
    with gr.Row():
        with gr.Column(scale=2):
            gr.Markdown(
                f"Uses the photo uploaded in the Dream tab; a preview of at most {config.max_frames} frames "
                f"at {config.zoom_spec.max_side} px (`dreamer zoom` makes long ones)."
            )
            form = controls(profile("studio-zoom").part(MotionSpec), config.zoom_motion, open_groups=("motion",))
        with gr.Column(scale=3):
            image, status, go, stop, download = result_outputs("zoom", "GIF")

    def run_zoom(session: Session, path: str | None, *values: Any) -> Iterator[Any]:
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
        run = zoom_run(studio, loaded, motion, folder)
        yield from to_page(
            run,
            session,
            studio.pool,
            status=lambda item: f"frame {item.frame.done} of {item.frame.total}" if item.frame else None,
            stopped=lambda _: "stopped (no GIF: the frames so far are shown)",
            done=lambda gif: (str(gif), f"{motion.frames} frames at {motion.fps:g} fps", str(gif)),
            extra=(None,),
            paths=[path],
        )

    names = ["session", "photo", *form.names]
    wire_run(go, state, run_zoom, names, [state, photo, *form.components], [image, status, download], api_name="zoom")
    wire_stop(stop, state)
