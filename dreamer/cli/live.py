"""``dreamer live``: the studio opened on its Live tab, the camera dreamed in real time (options from its profile)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import given, profile_options
from dreamer.cli.studio import serve_studio, server_options
from dreamer.errors import install_line
from dreamer.spec.live import LiveSpec
from dreamer.spec.profiles import profile
from dreamer.spec.resolve import resolve
from dreamer.spec.specs import DreamSpec


@cli.command(
    help=(
        "A magic mirror: open the studio on its Live tab, where your browser's camera is dreamed in real time. "
        "Each frame starts from the last dream carried along the optical flow and gets a few ascent steps "
        "(--steps at --max-side px); --mood deepen lets a still scene grow deeper. The options below are the "
        "page's starting values: every one of them can be changed on the page while it streams. "
        f"Needs {install_line('studio')} and OpenCV ({install_line('video')})."
    )
)
@server_options
@click.option("-s", "--style", help="A style from `dreamer styles` for the look (steps and size stay the live ones).")
@profile_options("live")
@click.pass_context
def live(
    ctx: click.Context,
    port: int,
    host: str,
    allow_downloads: bool,
    cache_dir: Path | None,
    style: str | None,
    **params: Any,
) -> None:
    """Start the studio on the Live tab (the help text is set above)."""
    from dreamer.engine.styles import checked_style

    if style:
        style = checked_style(style).name  # a bad name fails here, in one line, before the server starts
    live_spec = resolve(LiveSpec, given(ctx, params, LiveSpec))
    base = resolve(DreamSpec, given(ctx, params, DreamSpec), base=profile("live").defaults(DreamSpec))
    serve_studio(
        ctx,
        host,
        port,
        params,
        allow_downloads=allow_downloads,
        cache=cache_dir,
        tab="live",
        live_spec=live_spec,
        live_base=base,
        live_style=style,
    )
