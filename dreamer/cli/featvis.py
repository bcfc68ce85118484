"""``dreamer grid`` and ``dreamer maps``: what channels and classes want to see, and where they fire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import given, profile_options
from dreamer.cli.settings import run_env
from dreamer.spec.atlas import JUDGES
from dreamer.spec.resolve import resolve
from dreamer.spec.specs import VisSpec


def _names(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text is not None else None


def _columns(columns: int | None) -> int | None:
    if columns is not None and columns < 1:
        from dreamer.errors import DreamerError

        raise DreamerError(f"must be at least 1 (got {columns})", field="columns")
    return columns


def _run(ctx: click.Context, params: dict[str, Any], quiet: bool, make: Any) -> Any:
    """Resolve the spec and env, run ``make(engine, spec, on_event)`` with a progress bar."""
    from dreamer.engine.engine import Engine
    from dreamer.runners.progress import progress_bar

    spec = resolve(VisSpec, given(ctx, params, VisSpec))
    with progress_bar("visualising", not quiet) as on_event:
        return make(Engine(run_env(ctx, params)), spec, on_event)


def _save_sheet(out: Any, output: Path, quiet: bool) -> None:
    """Write a grid or maps sheet atomically with its settings, and say where."""
    from dreamer.outputs.images import save_image

    save_image(out, output, metadata=out.info["dreamer"])
    rgba = out.info.get("rgba")  # --alpha: the transparent twin of the checkerboard preview
    if rgba is not None:
        save_image(rgba, output.with_name(f"{output.stem}_rgba.png"), metadata=out.info["dreamer"])
    if not quiet:
        also = " and its _rgba.png" if rgba is not None else ""
        click.echo(f"wrote {output}{also}  (seed {out.info['dreamer']['spec']['seed']})")


@cli.command()
@click.option("--layer", help="One layer: a grid of its channels (see `dreamer layers`).")
@click.option("--layers", "layer_rows", help="Comma-separated layers, one row each, e.g. blocks.2,blocks.4,blocks.6.")
@click.option("--channels", help="Channels, e.g. 0-15 or 3,17,42. [default: 0-15, or 0-7 per row with --layers]")
@click.option("--top", type=int, help="The K channels that respond most to --photo.")
@click.option("--photo", type=click.Path(path_type=Path), help="Photo for --top.")
@click.option("--classes", help='ImageNet class names, e.g. "goldfish,flamingo,school bus".')
@click.option("--columns", type=int, help="Columns of the sheet. [default: tidy]")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output file (.png, .jpg, .webp).")
@click.option(
    "--evidence",
    type=click.Path(path_type=Path),
    help="A folder of photos: each cell gets its top exemplar patches from it (a class also a judge's probability).",
)
@click.option(
    "--judge",
    type=click.Choice(JUDGES),
    default=JUDGES[0],
    show_default=True,
    help="With --evidence and --classes: the independent network whose probability each class image gets.",
)
@profile_options("grid")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
@click.pass_context
def grid(
    ctx: click.Context,
    layer: str | None,
    layer_rows: str | None,
    channels: str | None,
    top: int | None,
    photo: Path | None,
    classes: str | None,
    columns: int | None,
    output: Path,
    evidence: Path | None,
    judge: str,
    quiet: bool,
    **params: Any,
) -> None:
    """Feature visualisation: images optimised from noise to excite each channel or class, as a labelled grid."""
    from dreamer.core.objectives import parse_channels
    from dreamer.outputs.images import check_output_path

    check_output_path(output, (photo,) if photo else ())
    options = dict(
        layer=layer,
        channels=parse_channels(channels) if channels else None,
        layers=_names(layer_rows),
        classes=_names(classes),
        top=top,
        photo=photo,
        columns=_columns(columns),
        evidence=evidence,
        judge=judge,
    )
    options["fits"] = lambda size: check_output_path(output, size=size)  # the format's limits, before any work
    out = _run(ctx, params, quiet, lambda engine, spec, on_event: engine.grid(spec, on_event=on_event, **options))
    _save_sheet(out, output, quiet)


@cli.command()
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("--layer", required=True, help="The layer whose activation maps to show.")
@click.option("--channels", help="Channels, e.g. 0-7 or 3,17,42.")
@click.option("--top", type=int, help="The K channels that respond most to the photo. [default: 8]")
@click.option("--columns", type=int, help="Columns of the sheet. [default: 2]")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file. [default: PHOTO_maps.png]")
@click.option(
    "--evidence",
    type=click.Path(path_type=Path),
    help="A folder of photos: each cell gets its top exemplar patches from it (a class also a judge's probability).",
)
@profile_options("maps")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
@click.pass_context
def maps(
    ctx: click.Context,
    photo: Path,
    layer: str,
    channels: str | None,
    top: int | None,
    columns: int | None,
    output: Path | None,
    evidence: Path | None,
    quiet: bool,
    **params: Any,
) -> None:
    """PHOTO's activation maps at a layer, each beside what that channel wants to see."""
    from dreamer.core.objectives import parse_channels
    from dreamer.outputs.images import check_output_path, default_output_path, load_image

    loaded = load_image(photo)
    output = output or default_output_path(photo, "_maps")
    check_output_path(output, (photo,))
    options = dict(
        channels=parse_channels(channels) if channels else None, top=top, columns=_columns(columns), evidence=evidence
    )
    options["fits"] = lambda size: check_output_path(output, size=size)  # the format's limits, before any work
    out = _run(
        ctx,
        params,
        quiet,
        lambda engine, spec, on_event: engine.maps(loaded, layer, spec, on_event=on_event, **options),
    )
    _save_sheet(out, output, quiet)
