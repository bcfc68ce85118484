"""The ``dreamer`` command: a thin Click layer over the library API.

Each command turns its options into library arguments and calls one function. Nothing
heavy is imported at module level, so ``dreamer --help`` answers without loading torch.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from dreamer import __version__
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.runners.heap import keep_freed_memory
from dreamer.spec.config import SMOOTH_CHOICES, ZOOM_CONFIG, DreamConfig, VisConfig

_DEFAULTS = DreamConfig()
_VIS = VisConfig()
LAYER_HELP = (
    "Layer objective, repeatable: LAYER[CHANNELS][:WEIGHT], e.g. -l blocks.4, -l blocks.3:0.5, "
    "-l 'blocks.4[3,17,40-47]', -l blocks.2:-1 (negative weight suppresses), one neuron: "
    "-l 'blocks.4[7]@center' or 'blocks.4[7]@Y,X'. Default: the model's dream layer."
)


def _show_warning(message: Any, category: type[Warning], *_args: Any, **_kwargs: Any) -> None:
    click.echo(f"warning: {message}", err=True)


class DreamerGroup(click.Group):
    """Turns library errors into one-line messages and Ctrl-C into exit status 130."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command with dreamer's error, warning and interrupt handling."""
        keep_freed_memory()  # measured 1.1-1.3x faster ascent steps (bench/heap.py)
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


def _render_options(f: Any, d: DreamConfig = _DEFAULTS) -> Any:
    """The options every dreaming command shares; each maps to a DreamConfig field (help shows ``d``'s defaults)."""
    options = [
        click.option("--model", help=f"Model: lite0 (bundled, offline) or a torchvision name. [default: {d.model}]"),
        click.option(
            "--weights", type=click.Path(readable=False), help="State-dict file to load into --model (weights_only)."
        ),
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
            "--precision",
            type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
            help="Network dtype; auto = bf16 on CPUs with native bf16, else fp32; fp16 needs CUDA. "
            f"The image and its gradient stay fp32. [default: {d.precision}]",
        ),
        click.option(
            "--resize-back/--no-resize-back", default=None, help="Return the dream at the input's size. [default: on]"
        ),
        click.option(
            "--guide",
            type=click.Path(),
            help="Guide image: grow its textures and objects (the default layer objective is replaced).",
        ),
        click.option("--guide-layer", help="Layer the guide is matched at. [default: the model's dream layer]"),
        click.option(
            "--smooth",
            type=click.Choice(SMOOTH_CHOICES),
            help=f"Gradient shaping: Gaussian sigma cascade or Laplacian pyramid. [default: {d.smooth}]",
        ),
        click.option(
            "--keep-colors/--no-keep-colors", default=None, help="Dream luminance only; keep the photo's colours."
        ),
        click.option("--strength", type=float, help=f"Blend with the original, 0 to 1. [default: {d.strength}]"),
        click.option("--mask", type=click.Path(), help="Grayscale image: dream only where it is light (soft edges)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def base_config(
    replay: Path | None = None, style: str | None = None, start: DreamConfig = _DEFAULTS
) -> tuple[DreamConfig, dict[str, Any]]:
    """The settings options start from: defaults, a replayed PNG's, then a style on top; plus provenance."""
    config, provenance = start, {}
    if replay:
        from dreamer.outputs.images import read_metadata

        config = DreamConfig.from_dict(read_metadata(replay))
    if style:
        from dreamer.spec.styles import load_style

        chosen = load_style(style)
        config, provenance = chosen.apply(config), {"style": chosen.name}
    return config, provenance


def build_config(base: DreamConfig, params: dict[str, Any]) -> DreamConfig:
    """Explicit options override ``base``; options left unset keep its values."""
    fields = {f.name for f in dataclasses.fields(DreamConfig)}
    given = {k: v for k, v in params.items() if k in fields and v not in (None, ())}
    return base.replace(**given)


@cli.command()
@click.argument("photo", type=click.Path(path_type=Path, readable=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, readable=False),
    help="Output file (.png, .jpg, .webp). [default: PHOTO_dream.png]",
)
@click.option(
    "--replay",
    type=click.Path(path_type=Path, readable=False),
    help="Take every setting from a dreamer PNG (options given here still win).",
)
@click.option("-s", "--style", help="A preset: a name from `dreamer styles` or a .toml file (options given here win).")
@_render_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
def render(
    photo: Path, output: Path | None, replay: Path | None, style: str | None, quiet: bool, **params: Any
) -> None:
    """Dream PHOTO: amplify what the network's layers see in it."""
    from dreamer.engine.engine import Dreamer, save_dream
    from dreamer.outputs.images import check_output_path, default_output_path, load_image

    base, provenance = base_config(replay, style)
    config = build_config(base, params)
    loaded = load_image(photo)
    output = output or default_output_path(photo)
    check_output_path(output, (photo,))
    out = Dreamer(config.device).dream(loaded, config, progress=not quiet, metadata=provenance)
    save_dream(out, output)
    if not quiet:
        click.echo(f"wrote {output}  (seed {out.info['dreamer']['seed']})")


@cli.command()
@click.option("--model", default=_DEFAULTS.model, show_default=True, help="Model name.")
@click.option("--weights", type=click.Path(readable=False), help="State-dict file to load into --model.")
@click.option(
    "--size", default=224, show_default=True, type=click.IntRange(16, 4096), help="Input size for the shapes."
)
@click.option("--depth", default=2, show_default=True, type=click.IntRange(1, 99), help="Deepest name level to list.")
@click.option("--all", "show_all", is_flag=True, help="List every module, however deep.")
def layers(model: str, weights: str | None, size: int, depth: int, show_all: bool) -> None:
    """List a model's layers with output shapes; * marks recommended dream layers."""
    from dreamer.nets.summary import layer_table

    for line in layer_table(model, weights=weights, size=size, depth=None if show_all else depth):
        click.echo(line)


@cli.command()
@click.argument("image", type=click.Path(path_type=Path, readable=False))
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def info(image: Path, as_json: bool) -> None:
    """Print the settings a dreamer PNG was made with (replay them with render --replay)."""
    from dreamer.outputs.images import read_metadata

    meta = read_metadata(image)
    if as_json:
        click.echo(json.dumps(meta, indent=2, sort_keys=True))
        return
    width = max(map(len, meta))
    for key in sorted(meta):
        click.echo(f"{key:<{width}}  {meta[key]}")


@cli.group(invoke_without_command=True)
@click.pass_context
def styles(ctx: click.Context) -> None:
    """List the shipped styles with their descriptions (`dreamer styles show NAME` for settings)."""
    if ctx.invoked_subcommand is None:
        from dreamer.spec.styles import load_style, style_names

        names = style_names()
        width = max(map(len, names), default=0)
        for name in names:
            click.echo(f"{name:<{width}}  {load_style(name, check_layers=False).description}")


@styles.command("show")
@click.argument("name")
def styles_show(name: str) -> None:
    """Print every setting a style resolves to (defaults < style)."""
    from dreamer.spec.styles import load_style

    chosen = load_style(name)
    click.echo(f"# {chosen.name}: {chosen.description}")
    click.echo(f"# from {chosen.path}")
    for key, value in chosen.apply().to_dict().items():
        mark = "" if key in chosen.settings else "   (default)"
        click.echo(f"{key} = {json.dumps(value)}{mark}")


@cli.command("gallery")
@click.argument("photos", nargs=-1, required=True)
@click.option("-s", "--style", "styles", multiple=True, help="A style to render each photo in (repeatable).")
@click.option("--all-styles", is_flag=True, help="Every shipped style.")
@click.option(
    "-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path, readable=False), help="Gallery folder."
)
@click.option("--force", is_flag=True, help="Re-render even what is already there with the same settings.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Parallel CPU processes.")
@_render_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def gallery_command(
    photos: tuple[str, ...],
    styles: tuple[str, ...],
    all_styles: bool,
    out_dir: Path,
    force: bool,
    workers: int,
    quiet: bool,
    **params: Any,
) -> None:
    """Render PHOTOS (files, folders, globs) in each style, with manifest.json, index.html and a contact sheet."""
    from dreamer.runners.gallery import gallery
    from dreamer.spec.styles import style_names

    if all_styles:
        styles = tuple(style_names())
    device = params.pop("device") or "auto"
    overrides = {k: v for k, v in params.items() if v not in (None, ())}
    report = gallery(
        photos, styles, out_dir, overrides=overrides, force=force, workers=workers, device=device, progress=not quiet
    )
    n = {s: sum(r.status == s for r in report.results) for s in ("done", "skipped", "failed")}
    click.echo(f"{out_dir / 'index.html'}: {n['done']} rendered, {n['skipped']} already there, {n['failed']} failed")
    for item in report.missing:
        click.echo(f"error: {item}", err=True)
    for result in report.failed:
        click.echo(f"error: {result.error} (style {result.job.style})", err=True)
    if report.failed or report.missing:
        ctx = click.get_current_context()
        ctx.exit(1)


@cli.command(
    help=(
        "The infinite zoom: dream PHOTO, zoom into the dream a little, dream again, FRAMES times. "
        "Frames are written to a folder as they finish; an interrupted run resumes from the last one. "
        "Each frame gets a lighter dream than render's (see the defaults below); --max-side is the frame size."
    )
)
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("--frames", default=60, show_default=True, type=click.IntRange(1), help="Number of frames.")
@click.option("--zoom", "zoom_factor", default=1.04, show_default=True, type=float, help="Zoom in per frame.")
@click.option(
    "--rotate", default=0.0, show_default=True, type=float, help="Rotation per frame, degrees (+ = counter-clockwise)."
)
@click.option("--pan", default="0,0", show_default=True, help="Move the view per frame: DX,DY in pixels.")
@click.option(
    "--fps",
    default=24.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Frames per second of the GIF or MP4.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="dream.gif, dream.mp4 (needs imageio-ffmpeg) or a folder for the frames only. [default: PHOTO_zoom.gif]",
)
@click.option(
    "--frames-dir",
    type=click.Path(path_type=Path),
    help="Where frames go (and a resume looks). [default: the folder -o names, else OUTPUT_frames/]",
)
@click.option("-s", "--style", help="A preset from `dreamer styles` or a .toml file (options given here win).")
@functools.partial(_render_options, d=ZOOM_CONFIG)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
def zoom(
    photo: Path,
    frames: int,
    zoom_factor: float,
    rotate: float,
    pan: str,
    fps: float,
    output: Path | None,
    frames_dir: Path | None,
    style: str | None,
    quiet: bool,
    **params: Any,
) -> None:
    """Render a zoom animation (the help text is set above, with the zoom defaults)."""
    from dreamer.animate.zoom import assemble, check_output, finished_frames, parse_pan, recorded_seed, render_zoom
    from dreamer.engine.engine import Dreamer

    shift = parse_pan(pan)
    base, _ = base_config(style=style, start=ZOOM_CONFIG)
    config = build_config(base, params)
    # A fixed default name (not numbered like render's), so the same command finds its frames to resume.
    output = output or photo.with_name(f"{photo.stem}_zoom.gif")
    kind = check_output(output)
    folder = frames_dir or (output if kind == "frames" else output.with_name(f"{output.stem}_frames"))
    try:
        paths = render_zoom(
            photo,
            folder,
            frames,
            zoom=zoom_factor,
            rotate=rotate,
            pan=shift,
            config=config,
            dreamer=Dreamer(config.device),
            progress=not quiet,
        )
    except KeyboardInterrupt:
        kept = len(finished_frames(folder))
        click.echo(f"interrupted: {kept} frames kept in {folder}; run the same command again to resume", err=True)
        click.get_current_context().exit(130)
    if kind != "frames":
        assemble(paths, output, fps)
    if not quiet:
        where = (
            f"{output} ({len(paths)} frames, kept in {folder})"
            if kind != "frames"
            else f"{len(paths)} frames in {folder}"
        )
        click.echo(f"wrote {where}  (seed {recorded_seed(folder)})")


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
    from dreamer.core.objectives import parse_channels
    from dreamer.featvis.optimize import grid as make_grid
    from dreamer.outputs.images import check_output_path

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
    _save_sheet(out, output, quiet)


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
    from dreamer.core.objectives import parse_channels
    from dreamer.featvis.maps import maps as make_maps
    from dreamer.outputs.images import check_output_path, default_output_path, load_image

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
    _save_sheet(out, output, quiet)


def _save_sheet(out: Any, output: Path, quiet: bool) -> None:
    """Write a grid or maps sheet atomically with its settings, and say where."""
    from dreamer.outputs.images import save_image

    save_image(out, output, metadata=out.info["dreamer"])
    if not quiet:
        click.echo(f"wrote {output}  (seed {out.info['dreamer']['seed']})")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dreamer")


if __name__ == "__main__":
    sys.exit(main())
