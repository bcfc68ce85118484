"""``dreamer gallery``: many photos times many styles, resumable, with a page and a contact sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import given, spec_options
from dreamer.cli.settings import run_env
from dreamer.spec.specs import DreamSpec, RunEnv


@cli.command("gallery")
@click.argument("photos", nargs=-1, required=True)
@click.option("-s", "--style", "styles", multiple=True, help="A style to render each photo in (repeatable).")
@click.option("--all-styles", is_flag=True, help="Every shipped style.")
@click.option(
    "-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path, readable=False), help="Gallery folder."
)
@click.option("--force", is_flag=True, help="Re-render even what is already there with the same settings.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Parallel CPU processes.")
@spec_options(DreamSpec)
@spec_options(RunEnv)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def gallery_command(
    ctx: click.Context,
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
    from tqdm.auto import tqdm

    from dreamer.runners.gallery import gallery
    from dreamer.spec.styles import style_names

    if all_styles:
        styles = tuple(style_names())
    overrides = dict(given(ctx, params, DreamSpec).values)
    with tqdm(total=0, disable=quiet, desc="gallery", unit="render") as bar:

        def on_result(result: Any) -> None:
            if result.status != "skipped":
                bar.update(1)
                bar.set_postfix_str(f"{Path(result.job.photo).name} x {result.job.style}")

        report = gallery(
            photos,
            styles,
            out_dir,
            overrides=overrides,
            force=force,
            workers=workers,
            env=run_env(ctx, params),
            on_start=lambda n: bar.reset(total=n),
            on_result=on_result,
        )
    n = {s: sum(r.status == s for r in report.results) for s in ("done", "skipped", "failed")}
    click.echo(f"{out_dir / 'index.html'}: {n['done']} rendered, {n['skipped']} already there, {n['failed']} failed")
    for item in report.missing:
        click.echo(f"error: {item}", err=True)
    for result in report.failed:
        click.echo(f"error: {result.error} (style {result.job.style})", err=True)
    if report.failed or report.missing:
        ctx.exit(1)
