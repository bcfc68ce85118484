"""``dreamer lesson`` (the CNN lecture on your photo, as an offline page) and ``dreamer sweep``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from dreamer.cli import _render_options, base_config, build_config, cli
from dreamer.spec.config import DreamConfig

SWEEP_DEFAULTS = DreamConfig(max_side=512)


@cli.command()
@click.argument("photo", type=click.Path(path_type=Path, readable=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Folder for index.html and its figures. [default: PHOTO_lesson]",
)
@click.option(
    "--model", default="lite0", show_default=True, help="Model: lite0 (bundled, offline) or a torchvision name."
)
@click.option("--weights", type=click.Path(readable=False), help="State-dict file to load into --model.")
@click.option(
    "--max-side", default=512, show_default=True, type=click.IntRange(64), help="Photo size the network sees."
)
@click.option("--top", default=3, show_default=True, type=click.IntRange(1, 8), help="Channels shown per stage.")
@click.option("--vis-size", default=112, show_default=True, type=click.IntRange(32), help="Visualisation size (px).")
@click.option("--vis-steps", default=128, show_default=True, type=click.IntRange(1), help="Visualisation steps.")
@click.option("--seed", type=int, help="Random seed for the dreams and visualisations. [default: random, recorded]")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
    default="auto",
    show_default=True,
    help="Network dtype; auto = bf16 on CPUs with native bf16, else fp32.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
def lesson(
    photo: Path,
    output: Path | None,
    model: str,
    weights: str | None,
    max_side: int,
    top: int,
    vis_size: int,
    vis_steps: int,
    seed: int | None,
    device: str,
    precision: str,
    quiet: bool,
) -> None:
    """A page that tells how a CNN works, every figure drawn by the real network on PHOTO."""
    from tqdm.auto import tqdm

    from dreamer.lecture.lesson import SECTION_NAMES, VIS
    from dreamer.lecture.lesson import lesson as make_lesson
    from dreamer.outputs.images import load_image

    loaded = load_image(photo)
    output = output or photo.with_name(f"{photo.stem}_lesson")
    with tqdm(total=len(SECTION_NAMES), disable=quiet, desc="lesson", unit="section", postfix=SECTION_NAMES[0]) as bar:

        def on_section(done: int, total: int, _finished: str) -> None:
            bar.update(done - bar.n)
            bar.set_postfix_str(SECTION_NAMES[done] if done < total else "done")

        page = make_lesson(
            loaded,
            output,
            model=model,
            weights=weights,
            max_side=max_side,
            top=top,
            seed=seed,
            vis=VIS.replace(size=vis_size, steps=vis_steps),
            device=device,
            precision=precision,
            on_section=on_section,
        )
    if not quiet:
        click.echo(f"wrote {page}")


@cli.command()
@click.argument("photo", type=click.Path(path_type=Path, readable=False))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file. [default: PHOTO_sweep.png]")
@functools.partial(_render_options, d=SWEEP_DEFAULTS)
@click.option("-s", "--style", help="A preset from `dreamer styles` or a .toml file (options given here win).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
def sweep(photo: Path, output: Path | None, style: str | None, quiet: bool, **params: Any) -> None:
    """PHOTO dreamed at each -l layer (default: one per stage), as one labelled strip."""
    from tqdm.auto import tqdm

    from dreamer.lecture.lesson import sweep as make_sweep
    from dreamer.outputs.images import check_output_path, default_output_path, load_image, save_image

    loaded = load_image(photo)
    output = output or default_output_path(photo, "_sweep")
    check_output_path(output, (photo,))
    base, provenance = base_config(None, style, SWEEP_DEFAULTS)
    config = build_config(base, {**params, "layers": ()})
    with tqdm(disable=quiet, desc="sweep", unit="layer") as bar:

        def on_layer(done: int, total: int, name: str) -> None:
            bar.total = total
            bar.update(done - bar.n)
            bar.set_postfix_str(name)

        out = make_sweep(loaded, params["layers"] or None, config, on_layer=on_layer)
    save_image(out, output, metadata={**out.info["dreamer"], **provenance})
    if not quiet:
        click.echo(f"wrote {output}  (seed {out.info['dreamer']['seed']})")
