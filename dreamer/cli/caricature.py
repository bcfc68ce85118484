"""``dreamer caricature PHOTO -l LAYER``: an image from noise whose activations match the photo's, amplified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import given, profile_options
from dreamer.cli.settings import run_env
from dreamer.spec.profiles import profile
from dreamer.spec.specs import VisSpec


@cli.command()
@click.argument("photo", type=click.Path(path_type=Path, readable=False))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file. [default: PHOTO_caricature.png]")
@profile_options("caricature")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
@click.pass_context
def caricature(ctx: click.Context, photo: Path, output: Path | None, quiet: bool, **params: Any) -> None:
    """The network's caricature of PHOTO: an image from noise that excites its layers as PHOTO does, only more."""
    from dreamer.engine.engine import Engine
    from dreamer.outputs.images import check_output_path, default_output_path, load_image, save_image
    from dreamer.runners.progress import progress_bar
    from dreamer.spec.resolve import resolve

    loaded = load_image(photo)
    output = output or default_output_path(photo, "_caricature")
    check_output_path(output, (photo,))
    spec = resolve(VisSpec, given(ctx, params, VisSpec), base=profile("caricature").defaults(VisSpec))
    with progress_bar("caricaturing", not quiet) as on_event:
        out = Engine(run_env(ctx, params)).caricature(loaded, spec, on_event=on_event)
    save_image(out, output, metadata=out.info["dreamer"])
    if not quiet:
        record = out.info["dreamer"]
        cosines = ", ".join(
            f"{k.removeprefix('cos ')} {v:.2f}" for k, v in record["scores"].items() if k != "caricature"
        )
        click.echo(f"wrote {output}  (seed {record['spec']['seed']}; activation cosine to the photo: {cosines})")
