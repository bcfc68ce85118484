"""``dreamer render``, ``info``, ``layers`` and ``styles``: a still and what describes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import profile_options
from dreamer.cli.settings import dream_spec, run_env
from dreamer.errors import one_line
from dreamer.spec.profiles import profile
from dreamer.spec.specs import DreamSpec

PATH = click.Path(path_type=Path, readable=False)


@cli.command()
@click.argument("photo", type=PATH)
@click.option("-o", "--output", type=PATH, help="Output file (.png, .jpg, .webp). [default: PHOTO_dream.png]")
@click.option("--replay", type=PATH, help="Take the look from a dreamer PNG (options given here still win).")
@click.option("-s", "--style", help="A preset: a name from `dreamer styles` or a .toml file (options given here win).")
@profile_options("render")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
@click.pass_context
def render(
    ctx: click.Context,
    photo: Path,
    output: Path | None,
    replay: Path | None,
    style: str | None,
    quiet: bool,
    **params: Any,
) -> None:
    """Dream PHOTO: amplify what the network's layers see in it."""
    from dreamer.engine.engine import Engine
    from dreamer.outputs.images import check_output_path, default_output_path, fit_max_side, load_image, save_dream
    from dreamer.runners.progress import progress_bar

    spec, provenance = dream_spec(ctx, params, style=style, replay=replay, base=profile("render").defaults(DreamSpec))
    env = run_env(ctx, params)
    loaded = load_image(photo)
    output = output or default_output_path(photo)
    inputs = tuple(Path(p) for p in (photo, replay, spec.guide, spec.mask, spec.weights) if p)
    size = loaded.rgb.size if spec.resize_back else fit_max_side(loaded.rgb.size, spec.max_side)
    check_output_path(output, inputs, size)
    with progress_bar("dreaming", not quiet) as on_event:
        out = Engine(env).dream(loaded, spec, on_event=on_event, provenance=provenance)
    save_dream(out, output)
    if not quiet:
        click.echo(f"wrote {output}  (seed {out.info['dreamer']['spec']['seed']})")


@cli.command()
@profile_options("layers")
@click.option(
    "--size", default=224, show_default=True, type=click.IntRange(16, 4096), help="Input size for the shapes."
)
@click.option("--depth", default=2, show_default=True, type=click.IntRange(1, 99), help="Deepest name level to list.")
@click.option("--all", "show_all", is_flag=True, help="List every module, however deep.")
def layers(model: str, weights: str | None, size: int, depth: int, show_all: bool) -> None:
    """List a model's layers with output shapes; * marks recommended dream layers, (default) the default one."""
    from dreamer.engine.engine import Engine
    from dreamer.nets.summary import layer_table

    net = Engine(device="cpu", precision="fp32").model(model, weights)  # shapes only: the exact, portable setting
    click.echo(str(layer_table(net, size=size, depth=None if show_all else depth)))


def _flat(meta: dict[str, Any]) -> dict[str, Any]:
    """Schema-2 metadata as one level for printing: spec knobs by name, the rest as ``part.key``."""
    out = {k: v for k, v in meta.items() if not isinstance(v, dict)}
    for part in ("spec", "env", "motion"):
        for k, v in meta.get(part, {}).items():
            out[k if part == "spec" else f"{part}.{k}"] = v
    return out


@cli.command()
@click.argument("image", type=PATH)
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def info(image: Path, as_json: bool) -> None:
    """Print the settings a dreamer PNG was made with (replay them with render --replay)."""
    from dreamer.outputs.metadata import read_metadata

    meta = read_metadata(image)
    if as_json:
        click.echo(json.dumps(meta, indent=2, sort_keys=True))  # JSON escapes control characters itself
        return
    flat = _flat(meta)
    width = max(map(len, flat))
    for key in sorted(flat):
        click.echo(one_line(f"{key:<{width}}  {flat[key]}"))


@cli.group(invoke_without_command=True)
@click.pass_context
def styles(ctx: click.Context) -> None:
    """List the shipped styles with their descriptions (`dreamer styles show NAME` for settings)."""
    if ctx.invoked_subcommand is None:
        from dreamer.spec.styles import load_style, style_names

        names = style_names()
        width = max(map(len, names), default=0)
        for name in names:
            click.echo(f"{name:<{width}}  {load_style(name).description}")


@styles.command("show")
@click.argument("name")
def styles_show(name: str) -> None:
    """Print every setting a style resolves to (defaults < style)."""
    from dreamer.engine.styles import checked_style
    from dreamer.spec.schema import Kind, to_dict

    chosen = checked_style(name)
    click.echo(f"# {chosen.name}: {chosen.description}")
    click.echo(f"# from {chosen.path}")
    for key, value in to_dict(chosen.apply(), (Kind.LOOK, Kind.FILE)).items():
        mark = "" if key in chosen.settings else "   (default)"
        click.echo(f"{key} = {json.dumps(value)}{mark}")
