"""``dreamer lesson`` (the CNN lecture on your photo, as an offline page) and ``dreamer sweep``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import given, profile_options
from dreamer.cli.settings import dream_spec, run_env
from dreamer.spec.lesson import LessonSpec
from dreamer.spec.profiles import profile
from dreamer.spec.resolve import resolve
from dreamer.spec.specs import DreamSpec

PATH = click.Path(path_type=Path, readable=False)


@cli.command()
@click.argument("photo", type=PATH)
@click.option("-o", "--output", type=PATH, help="Folder for index.html and its figures. [default: PHOTO_lesson]")
@profile_options("lesson")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
@click.pass_context
def lesson(ctx: click.Context, photo: Path, output: Path | None, quiet: bool, **params: Any) -> None:
    """A page that tells how a CNN works, every figure drawn by the real network on PHOTO."""
    from tqdm.auto import tqdm

    from dreamer.engine.engine import Engine
    from dreamer.lecture.lesson import SECTION_NAMES
    from dreamer.lecture.lesson import lesson as make_lesson
    from dreamer.outputs.images import load_image

    spec = resolve(LessonSpec, given(ctx, params, LessonSpec))
    loaded = load_image(photo)
    engine = Engine(run_env(ctx, params))
    output = output or photo.with_name(f"{photo.stem}_lesson")
    with tqdm(total=len(SECTION_NAMES), disable=quiet, desc="lesson", unit="section", postfix=SECTION_NAMES[0]) as bar:

        def on_section(done: int, total: int, _finished: str) -> None:
            bar.update(done - bar.n)
            bar.set_postfix_str(SECTION_NAMES[done] if done < total else "done")

        page = make_lesson(
            loaded,
            output,
            model=spec.model,
            weights=spec.weights,
            max_side=spec.max_side,
            top=spec.top,
            seed=spec.seed,
            vis=spec.vis(),
            engine=engine,
            on_section=on_section,
        )
    if not quiet:
        click.echo(f"wrote {page}")


@cli.command()
@click.argument("photo", type=PATH)
@click.option("-o", "--output", type=PATH, help="Output file. [default: PHOTO_sweep.png]")
@click.option("-s", "--style", help="A preset from `dreamer styles` or a .toml file (options given here win).")
@profile_options("sweep")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
@click.pass_context
def sweep(ctx: click.Context, photo: Path, output: Path | None, style: str | None, quiet: bool, **params: Any) -> None:
    """PHOTO dreamed at each -l layer (default: one per stage), as one labelled strip."""
    from tqdm.auto import tqdm

    from dreamer.engine.engine import Engine
    from dreamer.lecture.sweep import sweep as make_sweep
    from dreamer.outputs.images import check_output_path, default_output_path, load_image, save_image

    spec, provenance = dream_spec(ctx, params, style=style, replay=None, base=profile("sweep").defaults(DreamSpec))
    engine = Engine(run_env(ctx, params))
    loaded = load_image(photo)
    output = output or default_output_path(photo, "_sweep")
    check_output_path(output, (photo,))
    with tqdm(disable=quiet, desc="sweep", unit="layer") as bar:

        def on_layer(done: int, total: int, name: str) -> None:
            bar.total = total
            bar.update(done - bar.n)
            bar.set_postfix_str(name)

        def fits(size: tuple[int, int]) -> None:  # the format's limits, before any work
            check_output_path(output, size=size)

        out = make_sweep(loaded, spec.layers or None, spec, engine=engine, on_layer=on_layer, fits=fits)
    save_image(out, output, metadata={**out.info["dreamer"], **provenance})
    if not quiet:
        click.echo(f"wrote {output}  (seed {out.info['dreamer']['spec']['seed']})")
