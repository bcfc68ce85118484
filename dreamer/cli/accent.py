"""``dreamer accent PHOTO --channel LAYER:C | --class NAME``: feature accentuation from the command line."""

from __future__ import annotations

import re
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
@click.option("--channel", "target_channel", help="The channel to accentuate, LAYER:C, e.g. blocks.5:17.")
@click.option("--class", "target_class", help='The ImageNet class to accentuate, e.g. "tabby" or 281.')
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file. [default: PHOTO_accent.png]")
@profile_options("accent")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
@click.pass_context
def accent(
    ctx: click.Context,
    photo: Path,
    target_channel: str | None,
    target_class: str | None,
    output: Path | None,
    quiet: bool,
    **params: Any,
) -> None:
    """Accentuate a channel or class in PHOTO, kept close to the photo: what in it drives that feature."""
    from dreamer.core.objectives import channel, class_logit
    from dreamer.engine.engine import Engine
    from dreamer.errors import DreamerError
    from dreamer.featvis.cells import class_index
    from dreamer.outputs.images import check_output_path, default_output_path, load_image, save_image
    from dreamer.runners.progress import progress_bar
    from dreamer.spec.resolve import resolve

    if (target_channel is None) == (target_class is None):
        raise DreamerError("give exactly one of --channel LAYER:C or --class NAME")
    loaded = load_image(photo)
    output = output or default_output_path(photo, "_accent")
    check_output_path(output, (photo,))
    spec = resolve(VisSpec, given(ctx, params, VisSpec), base=profile("accent").defaults(VisSpec))
    engine = Engine(run_env(ctx, params))
    model = engine.model(spec.model, spec.weights, "visualize")  # the copy the accentuation will run on
    if target_channel is not None:
        m = re.fullmatch(r"\s*([A-Za-z_][\w.]*)\s*:\s*(\d+)\s*", target_channel)
        if not m:
            raise DreamerError(f"--channel: cannot read {target_channel!r} (use LAYER:C, e.g. blocks.5:17)")
        model.check_layer(m.group(1))
        objective = channel(m.group(1), int(m.group(2)))
    else:
        objective = class_logit(class_index(model, target_class))
    with progress_bar("accentuating", not quiet) as on_event:
        out = engine.accent(loaded, objective, spec, on_event=on_event)
    save_image(out, output, metadata=out.info["dreamer"])
    if not quiet:
        s = out.info["dreamer"]["scores"]
        click.echo(f"wrote {output}  ({objective.name}: {s['photo_target']:.3g} -> {s['target']:.3g})")
