"""``dreamer zoom``: the infinite zoom, frames to a folder as they finish, then a GIF or MP4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import given, profile_options
from dreamer.cli.settings import dream_spec, run_env
from dreamer.spec.profiles import profile
from dreamer.spec.resolve import resolve
from dreamer.spec.specs import FRAMES_DIR_HELP, DreamSpec, MotionSpec, RunEnv


@cli.command(
    help=(
        "The infinite zoom: dream PHOTO, zoom into the dream a little, dream again, FRAMES times. "
        "Frames are written to a folder as they finish; an interrupted run resumes from the last one. "
        "Each frame gets a lighter dream than render's (see the defaults below); --max-side is the frame size."
    )
)
@click.argument("photo", type=click.Path(path_type=Path))
@profile_options("zoom", MotionSpec)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="dream.gif, dream.mp4 (needs imageio-ffmpeg) or a folder for the frames only. [default: PHOTO_zoom.gif]",
)
@click.option(
    "--frames-dir",
    type=click.Path(path_type=Path),
    help=FRAMES_DIR_HELP,
)
@click.option("-s", "--style", help="A preset from `dreamer styles` or a .toml file (options given here win).")
@profile_options("zoom", DreamSpec, RunEnv)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
@click.pass_context
def zoom(
    ctx: click.Context,
    photo: Path,
    output: Path | None,
    frames_dir: Path | None,
    style: str | None,
    quiet: bool,
    **params: Any,
) -> None:
    """Render a zoom animation (the help text is set above, with the zoom defaults)."""
    from tqdm.auto import tqdm

    from dreamer.animate.zoom import render_zoom, zoom_folder
    from dreamer.engine.engine import Engine
    from dreamer.outputs.animation import assemble, check_output
    from dreamer.outputs.frames import finished_frames, frame_size, frames_folder
    from dreamer.outputs.images import load_image

    motion = resolve(MotionSpec, given(ctx, params, MotionSpec))
    spec, _ = dream_spec(ctx, params, style=style, replay=None, base=profile("zoom").defaults(DreamSpec))
    engine = Engine(run_env(ctx, params))
    # A fixed default name (not numbered like render's), so the same command finds its frames to resume.
    output = output or photo.with_name(f"{photo.stem}_zoom.gif")
    size = frame_size(load_image(photo).rgb.size, spec.max_side)
    kind = check_output(output, inputs=(photo,), fps=motion.fps, size=size)
    folder = frames_folder(output, frames_dir)
    start = len(finished_frames(folder))
    try:
        with tqdm(
            total=motion.frames, initial=min(start, motion.frames), disable=quiet, desc="zoom frames", unit="frame"
        ) as bar:
            paths = render_zoom(photo, folder, motion, spec, engine=engine, on_frame=lambda *_: bar.update(1))
    except KeyboardInterrupt:
        kept = len(finished_frames(folder))
        click.echo(f"interrupted: {kept} frames kept in {folder}; run the same command again to resume", err=True)
        ctx.exit(130)
    if kind != "frames":
        assemble(paths, output, motion.fps)
    if not quiet:
        where = (
            f"{output} ({len(paths)} frames, kept in {folder})"
            if kind != "frames"
            else f"{len(paths)} frames in {folder}"
        )
        click.echo(f"wrote {where}  (seed {zoom_folder(folder).recorded_seed()})")
