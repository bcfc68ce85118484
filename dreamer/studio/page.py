"""What every tab shares: the one loop that streams a run to the page, and the pieces of the tabs' layouts.

``to_page`` runs a job on the server's run thread (``dreamer.studio.session.stream``) and turns
what it reports into a tab's output values: each preview with its status line, warnings as the
page's toasts, a Stop with the last preview kept, the result, and library errors as one line.
The Dream tab, the sheets (grid, maps: ``stream_sheet``) and the zoom all stream through it.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import gradio as gr

from dreamer.core.objectives import parse_channels
from dreamer.errors import DreamerError
from dreamer.outputs.images import save_dream
from dreamer.spec.profiles import profile
from dreamer.spec.specs import VisSpec
from dreamer.studio.forms import Form, controls, named
from dreamer.studio.server import Studio
from dreamer.studio.session import Item, Run, Session, fail, public, stream

ENGINE = "engine"  # the concurrency id every run shares: one run at a time on the server
DROPPED = "stopped before it started (Stop was pressed while it waited for its turn)"


def to_page(
    run: Run,
    session: Session,
    pool: concurrent.futures.Executor,
    *,
    status: Callable[[Item], str | None],
    stopped: Callable[[Item], str],
    done: Callable[[Any], tuple[Any, ...]],
    extra: tuple[Any, ...] = (),
    paths: Sequence[str | None] = (),
) -> Iterator[tuple[Any, ...]]:
    """Stream ``run`` to a tab's outputs: (preview, status, *extra) per preview, then ``done(result)``.

    ``status`` words a preview (None: not worth sending); ``stopped`` words a Stop, sent with the
    last preview shown; ``extra`` fills the tab's other outputs meanwhile (None, not a Gradio
    "no change", which rebuilds the component). ``paths`` are cut from the messages shown.
    """
    shown: Any = gr.skip()  # the last preview sent: what a Stop leaves on the page
    warned: set[str] = set()  # each warning once (a zoom's frames repeat theirs)
    try:
        for item in stream(run, session.start(), pool):
            if item.kind == "warned" and item.message not in warned:
                warned.add(item.message)
                gr.Warning(public(DreamerError(item.message), *paths))
            elif item.kind in ("step", "frame") and (line := status(item)) is not None:
                shown = item.preview
                yield (shown, line, *extra)
            elif item.kind == "stopped":
                yield (shown, stopped(item), *extra)
            elif item.kind == "done":
                yield done(item.result)
    except DreamerError as exc:
        raise fail(exc, *paths) from None


def stream_sheet(studio: Studio, session: Session, run: Run, name: str) -> Iterator[tuple[Any, ...]]:
    """A grid or maps run: (preview, status, no download yet) as the sheet forms, then the saved sheet."""

    def done(sheet: Any) -> tuple[Any, ...]:
        path = save_dream(sheet, session.path(name))
        return sheet, f"done in {sheet.info['dreamer']['seconds']:.1f} s", str(path)

    return to_page(
        run,
        session,
        studio.pool,
        status=lambda item: f"step {item.step.done} of {item.step.total}" if item.step else None,
        stopped=lambda _: "stopped (the preview shows where it got to)",
        done=done,
        extra=(None,),
    )


def result_outputs(prefix: str, download: str = "PNG with its settings") -> tuple[Any, ...]:
    """A tab's right-hand column: (image, status, Run button, Stop button, download), ids prefixed."""
    image = gr.Image(label="Result", interactive=False, elem_id=f"{prefix}-image", height=480)
    status = gr.Markdown(elem_id=f"{prefix}-status")
    with gr.Row():
        go = gr.Button("Run", variant="primary", elem_id=f"{prefix}-go")
        stop = gr.Button("Stop", elem_id=f"{prefix}-stop")
    download_box = gr.File(label=download, interactive=False, elem_id=f"{prefix}-download")
    return image, status, go, stop, download_box


def wire_run(
    go: gr.Button,
    state: gr.State,
    run: Callable[..., Iterator[tuple[Any, ...]]],
    names: Sequence[str],
    inputs: list[Any],
    outputs: list[Any],
    api_name: str,
) -> Any:
    """A Run button: the click noted at once (outside the queue), then ``run`` queued on the engine; its event.

    ``run(session, *values)`` streams (preview, status, ...) to ``outputs``; ``names`` are its
    parameters in the HTTP API. A Stop pressed while the run waits for its turn drops it when the
    turn comes (``Session.begin``): it ends at once, saying so, instead of running for nobody.
    """

    def guarded(session: Session, *values: Any) -> Iterator[tuple[Any, ...]]:
        if not session.begin():
            yield (gr.skip(), DROPPED, *[gr.skip()] * (len(outputs) - 2))
            return
        yield from run(session, *values)

    guarded.__name__, guarded.__doc__ = run.__name__, run.__doc__
    clicked = go.click(lambda s: s.click(), [state], None, concurrency_limit=None, api_name=False)
    return clicked.success(named(guarded, *names), inputs, outputs, concurrency_id=ENGINE, api_name=api_name)


def wire_stop(stop: gr.Button, state: gr.State, api_name: str | bool = False) -> None:
    """The Stop button: cancel the session's run in progress, or one still queued (at once, outside the queue)."""
    stop.click(lambda s: s.stop(), [state], None, concurrency_limit=None, api_name=api_name)


def vis_form(studio: Studio, tab: str) -> Form:
    """The feature-visualisation knobs of the grid or maps tab (its command profile's)."""
    return controls(
        profile(tab).part(VisSpec), studio.config.vis_base, choices={"model": studio.models}, open_groups=("steps",)
    )


def layer_picker(studio: Studio) -> gr.Dropdown:
    """A layer dropdown for the grid and maps tabs, starting at the model's default dream layer."""
    model = studio.config.vis_base.model
    recommended = studio.model(model).spec.dream_layers
    start = recommended[0] if recommended else None
    return gr.Dropdown(studio.layers(model), value=start, allow_custom_value=True, label="layer")


def channels_of(text: str | None) -> list[int] | None:
    """A channels box's value (``0-7``, ``3,17,42``), None when empty; a bad one is the page's error."""
    try:
        return parse_channels(text, "channels") if text and text.strip() else None
    except DreamerError as exc:
        raise fail(exc) from None
