"""``dreamer gallery``: many photos times many styles, resumable, with a page and a contact sheet."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import given, profile_options
from dreamer.cli.settings import run_env
from dreamer.errors import install_line
from dreamer.spec.specs import DreamSpec


@cli.command("gallery")
@click.argument("photos", nargs=-1, required=True)
@click.option("-s", "--style", "styles", multiple=True, help="A style to render each photo in (repeatable).")
@click.option(
    "--all-styles",
    is_flag=True,
    help="Every shipped style whose model is at hand (bundled, or its weights downloaded).",
)
@click.option(
    "-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path, readable=False), help="Gallery folder."
)
@click.option("--force", is_flag=True, help="Re-render even what is already there with the same settings.")
@click.option(
    "--workers",
    type=click.IntRange(1, 4096),
    help="Parallel workers: CPU processes on this machine, or Ray actors [default: 1; on Ray one per GPU, "
    "else one per 4 CPUs of each node].",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "pool", "ray"]),
    help="Where jobs run: this process, a pool of processes, or a Ray cluster ("
    f"{install_line('ray')}) "
    "[default: local, or pool with --workers, or ray with --address].",
)
@click.option(
    "--address",
    help="Ray cluster to join: auto, HOST:PORT or ray://HOST:10001 [default: $RAY_ADDRESS, else a private "
    "local cluster].",
)
@click.option(
    "--shared-storage",
    is_flag=True,
    help="Ray workers read photos and write images themselves: every node must see PHOTOS and -o at the same paths.",
)
@profile_options("gallery")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def gallery_command(
    ctx: click.Context,
    photos: tuple[str, ...],
    styles: tuple[str, ...],
    all_styles: bool,
    out_dir: Path,
    force: bool,
    workers: int | None,
    executor: str | None,
    address: str | None,
    shared_storage: bool,
    quiet: bool,
    **params: Any,
) -> None:
    """Render PHOTOS (files, folders, globs) in each style, with manifest.json, index.html and a contact sheet."""
    from tqdm.auto import tqdm

    from dreamer.engine.styles import styles_at_hand
    from dreamer.runners.gallery import gallery

    if all_styles:
        ready, left_out = styles_at_hand()
        styles = tuple(ready)
        if left_out:
            click.echo(
                f"--all-styles: left out {', '.join(left_out)} (their models' weights would download; "
                "name them with -s to fetch them)",
                err=True,
            )
    overrides = dict(given(ctx, params, DreamSpec).values)
    finished: list[Any] = []
    with tqdm(total=0, disable=quiet, desc="gallery", unit="render") as bar:

        def on_result(result: Any) -> None:
            finished.append(result)
            if result.status != "skipped":
                bar.update(1)
                bar.set_postfix_str(f"{Path(result.job.photo).name} x {result.job.style}")

        try:
            report = gallery(
                photos,
                styles,
                out_dir,
                overrides=overrides,
                force=force,
                workers=workers,
                env=run_env(ctx, params),
                executor=executor,
                address=address,
                shared_storage=shared_storage,
                on_start=lambda n: bar.reset(total=n),
                on_result=on_result,
            )
        except KeyboardInterrupt:
            kept = sum(r.status in ("done", "skipped") for r in finished)
            click.echo(
                f"interrupted: {kept} images kept in {out_dir} (listed in manifest.json); "
                "run the same command again to render the rest",
                err=True,
            )
            ctx.exit(130)
    n = {s: sum(r.status == s for r in report.results) for s in ("done", "skipped", "failed")}
    click.echo(f"{out_dir / 'index.html'}: {n['done']} rendered, {n['skipped']} already there, {n['failed']} failed")
    per_node = Counter(r.node for r in report.results if r.status == "done" and r.node)
    if per_node:
        click.echo("per node: " + ", ".join(f"{node} {n}" for node, n in sorted(per_node.items())))
    retried = sum(bool(r.retries) for r in report.results)
    if retried:
        click.echo(f"{retried} jobs were sent again after a worker died (see manifest.json)")
    for item in report.missing:
        click.echo(f"error: {item}", err=True)
    for result in report.failed:
        click.echo(f"error: {result.error} (style {result.job.style})", err=True)
    if report.failed or report.missing:
        ctx.exit(1)
