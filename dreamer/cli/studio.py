"""``dreamer studio``: the local web app (needs the ``studio`` extra); ``dreamer live`` opens it on the Live tab."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import profile_options
from dreamer.cli.settings import run_env
from dreamer.errors import install_line

NEEDS = f"the studio needs Gradio: {install_line('studio')}"


def server_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options of every command that starts the studio: where it listens, what the page may pick."""
    options = [
        click.option(
            "--port", type=click.IntRange(0, 65535), default=7860, show_default=True, help="Port to serve on."
        ),
        click.option(
            "--host",
            default="127.0.0.1",
            show_default=True,
            help="Address to bind; 0.0.0.0 lets anyone on your network use the studio (and your CPU or GPU).",
        ),
        click.option(
            "--allow-downloads",
            is_flag=True,
            help="Let the page pick torchvision models, whose weights download on first use (default: the bundled "
            "model).",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Where layer thumbnails are cached. [default: $DREAMER_CACHE or ~/.cache/dreamer]",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def serve_studio(ctx: click.Context, host: str, port: int, params: dict[str, Any], **config: Any) -> None:
    """Build the studio on an engine for the command's run options and serve it until Ctrl-C."""
    if importlib.util.find_spec("gradio") is None:
        raise click.ClickException(NEEDS)
    from dreamer.engine.engine import Engine
    from dreamer.studio import StudioConfig, build

    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"warning: binding {host}: anyone who can reach this machine on port {port} can use the studio", err=True
        )
    engine = Engine(run_env(ctx, params))
    studio_config = StudioConfig(**config)
    demo = build(engine, studio_config)
    click.echo(f"dreamer studio on http://{host}:{port}  ({engine.device}, {engine.precision}; Ctrl-C stops it)")
    try:
        demo.launch(
            server_name=host, server_port=port, max_file_size=studio_config.max_upload, quiet=True, show_error=True
        )
    finally:
        demo.close()


@cli.command()
@server_options
@profile_options("studio")
@click.pass_context
def studio(
    ctx: click.Context, port: int, host: str, allow_downloads: bool, cache_dir: Path | None, **params: Any
) -> None:
    """Start the studio: a local web page where the dream forms live, with every knob."""
    serve_studio(ctx, host, port, params, allow_downloads=allow_downloads, cache=cache_dir)
