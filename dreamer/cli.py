"""The ``dreamer`` command: a thin Click layer over the library API.

Each command turns its options into library arguments and calls one function. Nothing
heavy is imported at module level, so ``dreamer --help`` answers without loading torch.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from dreamer import __version__
from dreamer.config import DreamConfig, VisConfig
from dreamer.errors import DreamerError, DreamerWarning

_DEFAULTS = DreamConfig()
_VIS = VisConfig()
LAYER_HELP = (
    "Layer objective, repeatable: LAYER[CHANNELS][:WEIGHT], e.g. -l blocks.4, -l blocks.3:0.5, "
    "-l 'blocks.4[3,17,40-47]', -l blocks.2:-1 (negative weight suppresses). Default: the model's dream layer."
)


def _show_warning(message: Any, category: type[Warning], *_args: Any, **_kwargs: Any) -> None:
    click.echo(f"warning: {message}", err=True)


class DreamerGroup(click.Group):
    """Turns library errors into one-line messages and Ctrl-C into exit status 130."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command with dreamer's error, warning and interrupt handling."""
        with warnings.catch_warnings():
            warnings.simplefilter("always", DreamerWarning)
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except DreamerError as exc:
                raise click.ClickException(str(exc)) from None
            except KeyboardInterrupt:
                click.echo("interrupted: stopped before finishing; no partial output was written", err=True)
                ctx.exit(130)


@click.group(cls=DreamerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dreamer")
def cli() -> None:
    """DeepDream and feature visualisation: make a network's features visible in your photos."""


def _render_options(f: Any) -> Any:
    """The options every dreaming command shares; each maps to a DreamConfig field."""
    d = _DEFAULTS
    options = [
        click.option("--model", help=f"Model: lite0 (bundled, offline) or a torchvision name. [default: {d.model}]"),
        click.option("--weights", type=click.Path(), help="State-dict file to load into --model (weights_only)."),
        click.option("-l", "--layer", "layers", multiple=True, help=LAYER_HELP),
        click.option("--octaves", type=int, help=f"Number of scales. [default: {d.octaves}]"),
        click.option("--octave-scale", type=float, help=f"Size ratio between octaves. [default: {d.octave_scale}]"),
        click.option("--steps", type=int, help=f"Ascent steps per octave. [default: {d.steps}]"),
        click.option(
            "--step-size", type=float, help=f"Step on normalised gradient, image in [0,1]. [default: {d.step_size}]"
        ),
        click.option("--jitter", type=int, help=f"Random roll in pixels, each step. [default: {d.jitter}]"),
        click.option(
            "--normalize", type=click.Choice(["mean", "std"]), help=f"Gradient normalisation. [default: {d.normalize}]"
        ),
        click.option(
            "--seed", type=int, help="Random seed: the same seed gives the same image. [default: random, recorded]"
        ),
        click.option("--max-side", type=int, help=f"Work size: longer side in pixels. [default: {d.max_side}]"),
        click.option("--tile", type=int, help="Tile size for large images; 0 = automatic. [default: 0]"),
        click.option("--device", help="auto, cpu, cuda, cuda:N or mps. [default: auto]"),
        click.option(
            "--resize-back/--no-resize-back", default=None, help="Return the dream at the input's size. [default: on]"
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def build_config(base: DreamConfig, params: dict[str, Any]) -> DreamConfig:
    """Explicit options override ``base``; options left unset keep its values."""
    fields = {f.name for f in dataclasses.fields(DreamConfig)}
    given = {k: v for k, v in params.items() if k in fields and v not in (None, ())}
    return base.replace(**given)


@cli.command()
@click.argument("photo", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output file (.png, .jpg, .webp). [default: PHOTO_dream.png]",
)
@click.option(
    "--replay",
    type=click.Path(path_type=Path),
    help="Take every setting from a dreamer PNG (options given here still win).",
)
@_render_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
def render(photo: Path, output: Path | None, replay: Path | None, quiet: bool, **params: Any) -> None:
    """Dream PHOTO: amplify what the network's layers see in it."""
    from dreamer.images import check_output_path, default_output_path, load_image, read_metadata
    from dreamer.render import Dreamer, save_dream

    base = DreamConfig.from_dict(read_metadata(replay)) if replay else DreamConfig()
    config = build_config(base, params)
    loaded = load_image(photo)
    output = output or default_output_path(photo)
    check_output_path(output, (photo,))
    out = Dreamer(config.device).dream(loaded, config, progress=not quiet)
    save_dream(out, output)
    if not quiet:
        click.echo(f"wrote {output}  (seed {config.seed if config.seed is not None else out.info['dreamer']['seed']})")


@cli.command()
@click.option("--model", default=_DEFAULTS.model, show_default=True, help="Model name.")
@click.option("--weights", type=click.Path(), help="State-dict file to load into --model.")
@click.option(
    "--size", default=224, show_default=True, type=click.IntRange(16, 4096), help="Input size for the shapes."
)
@click.option("--depth", default=2, show_default=True, type=click.IntRange(1, 99), help="Deepest name level to list.")
@click.option("--all", "show_all", is_flag=True, help="List every module, however deep.")
def layers(model: str, weights: str | None, size: int, depth: int, show_all: bool) -> None:
    """List a model's layers with output shapes; * marks recommended dream layers."""
    from dreamer.summary import layer_table

    for line in layer_table(model, weights=weights, size=size, depth=None if show_all else depth):
        click.echo(line)


@cli.command()
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def info(image: Path, as_json: bool) -> None:
    """Print the settings a dreamer PNG was made with (replay them with render --replay)."""
    from dreamer.images import read_metadata

    meta = read_metadata(image)
    if as_json:
        click.echo(json.dumps(meta, indent=2, sort_keys=True))
        return
    width = max(map(len, meta))
    for key in sorted(meta):
        click.echo(f"{key:<{width}}  {meta[key]}")


def _vis_options(f: Any) -> Any:
    """The options feature-visualisation commands share; each maps to a VisConfig field."""
    d = _VIS
    options = [
        click.option("--model", help=f"Model: lite0 (bundled, offline) or a torchvision name. [default: {d.model}]"),
        click.option("--weights", type=click.Path(), help="State-dict file to load into --model (weights_only)."),
        click.option("--size", type=int, help=f"Side of each visualisation in pixels. [default: {d.size}]"),
        click.option("--steps", type=int, help=f"Optimisation steps. [default: {d.steps}]"),
        click.option("--lr", type=float, help=f"Adam learning rate. [default: {d.lr}]"),
        click.option(
            "--param",
            type=click.Choice(["fourier", "pixel"]),
            help="Image parametrisation: decorrelated Fourier spectrum (Lucid's) or plain pixels. [default: fourier]",
        ),
        click.option(
            "--decorrelate/--no-decorrelate", default=None, help="Fixed colour-decorrelation matrix. [default: on]"
        ),
        click.option(
            "--transforms/--no-transforms",
            default=None,
            help="Random pad, jitter, scale and rotation at each step. [default: on]",
        ),
        click.option("--batch", type=int, help=f"Images optimised together; 1 = one at a time. [default: {d.batch}]"),
        click.option("--seed", type=int, help="Random seed: the same seed gives the same image. [default: random]"),
        click.option("--device", help="auto, cpu, cuda, cuda:N or mps. [default: auto]"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _vis_config(params: dict[str, Any]) -> VisConfig:
    fields = {f.name for f in dataclasses.fields(VisConfig)}
    return VisConfig(**{k: v for k, v in params.items() if k in fields and v is not None})


def _names(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text is not None else None


@cli.command()
@click.option("--layer", help="One layer: a grid of its channels (see `dreamer layers`).")
@click.option("--layers", help="Comma-separated layers, one row each, e.g. blocks.2,blocks.4,blocks.6.")
@click.option("--channels", help="Channels, e.g. 0-15 or 3,17,42. [default: 0-15, or 0-7 per row with --layers]")
@click.option("--top", type=int, help="The K channels that respond most to --photo.")
@click.option("--photo", type=click.Path(path_type=Path), help="Photo for --top.")
@click.option("--classes", help='ImageNet class names, e.g. "goldfish,flamingo,school bus".')
@click.option("--columns", type=int, help="Columns of the sheet. [default: tidy]")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output file (.png, .jpg, .webp).")
@_vis_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
def grid(
    layer: str | None,
    layers: str | None,
    channels: str | None,
    top: int | None,
    photo: Path | None,
    classes: str | None,
    columns: int | None,
    output: Path,
    quiet: bool,
    **params: Any,
) -> None:
    """Feature visualisation: images optimised from noise to excite each channel or class, as a labelled grid."""
    from dreamer.featvis.render import grid as make_grid
    from dreamer.images import check_output_path, save_image
    from dreamer.objectives import parse_channels

    check_output_path(output, (photo,) if photo else ())
    config = _vis_config(params)
    out = make_grid(
        layer,
        parse_channels(channels) if channels else None,
        config,
        layers=_names(layers),
        classes=_names(classes),
        top=top,
        photo=photo,
        columns=columns,
        progress=not quiet,
    )
    save_image(out, output, metadata=out.info["dreamer"])
    if not quiet:
        click.echo(f"wrote {output}  (seed {out.info['dreamer']['seed']})")


@cli.command()
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("--layer", required=True, help="The layer whose activation maps to show.")
@click.option("--channels", help="Channels, e.g. 0-7 or 3,17,42.")
@click.option("--top", type=int, help="The K channels that respond most to the photo. [default: 8]")
@click.option("--columns", type=int, help="Columns of the sheet. [default: 2]")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file. [default: PHOTO_maps.png]")
@_vis_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
def maps(
    photo: Path,
    layer: str,
    channels: str | None,
    top: int | None,
    columns: int | None,
    output: Path | None,
    quiet: bool,
    **params: Any,
) -> None:
    """PHOTO's activation maps at a layer, each beside what that channel wants to see."""
    from dreamer.featvis.maps import maps as make_maps
    from dreamer.images import check_output_path, default_output_path, load_image, save_image
    from dreamer.objectives import parse_channels

    loaded = load_image(photo)
    output = output or default_output_path(photo, "_maps")
    check_output_path(output, (photo,))
    out = make_maps(
        loaded,
        layer,
        parse_channels(channels) if channels else None,
        _vis_config(params),
        top=top,
        columns=columns,
        progress=not quiet,
    )
    save_image(out, output, metadata=out.info["dreamer"])
    if not quiet:
        click.echo(f"wrote {output}  (seed {out.info['dreamer']['seed']})")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dreamer")


if __name__ == "__main__":
    sys.exit(main())
