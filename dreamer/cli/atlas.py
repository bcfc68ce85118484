"""``dreamer atlas``: an activation atlas of a layer over photos, written into a folder that a rerun resumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import given, profile_options
from dreamer.cli.settings import run_env
from dreamer.spec.atlas import AtlasSpec
from dreamer.spec.profiles import profile
from dreamer.spec.resolve import resolve
from dreamer.spec.specs import VisSpec


@cli.command(
    help=(
        "An activation atlas: random patches of PHOTOS (files or folders) laid out by their activations at "
        "--layer, binned into a grid, each cell's mean activation visualised from noise. Writes the sheet "
        "(atlas.png) and a page (index.html) where each cell shows its nearest real patches; the same command "
        "resumes an interrupted run."
    )
)
@click.argument("photos", nargs=-1, type=click.Path(path_type=Path))
@click.option("--layer", required=True, help="The layer to map (see `dreamer layers`), e.g. blocks.4.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Folder for the atlas.")
@profile_options("atlas")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
@click.pass_context
def atlas(ctx: click.Context, photos: tuple[Path, ...], layer: str, output: Path, quiet: bool, **params: Any) -> None:
    """Make an activation atlas (the help text is set above)."""
    from dreamer.engine.atlas import atlas as make_atlas
    from dreamer.engine.engine import Engine
    from dreamer.runners.progress import progress_bar

    spec = resolve(AtlasSpec, given(ctx, params, AtlasSpec))
    vis = resolve(VisSpec, given(ctx, params, VisSpec), base=profile("atlas").defaults(VisSpec))
    with progress_bar("atlas cells", not quiet) as on_event:
        result = make_atlas(Engine(run_env(ctx, params)), photos, output, layer, spec, vis, on_event=on_event)
    if not quiet:
        click.echo(
            f"wrote {result.sheet} and {result.page}: {result.cells} cells ({result.made} new) over "
            f"{result.points} patches, {result.coverage:.0%} of them in a kept cell, {result.layout} layout"
        )
