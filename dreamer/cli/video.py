"""``dreamer video``: dream a clip with frame-to-frame coherence (options from its profile)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import given, profile_options
from dreamer.cli.settings import dream_spec, run_env
from dreamer.errors import install_line
from dreamer.spec.profiles import profile
from dreamer.spec.resolve import resolve
from dreamer.spec.specs import EXECUTOR_CHOICES, FRAMES_DIR_HELP, DreamSpec
from dreamer.spec.video import VideoSpec

# One rate, the run's own (frames dreamed per second): tqdm's would count resumed frames as instant.
ONE_RATE = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"


@cli.command(
    help=(
        "Dream the video SOURCE frame by frame. In the default flow mode each frame starts from the last dream, "
        "warped along the optical flow, and is dreamed briefly, so the dream follows the motion instead of "
        "flickering. Frames are written to a folder as they finish; the same command resumes an interrupted run. "
        "The render options below shape the first frame's dream (--max-side is the frame size); --frame-steps "
        "and --frame-octaves the short dream of the others. "
        f"Needs {install_line('video')}."
    )
)
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="OUT.mp4 (keeps the input's sound), OUT.gif, or a folder for the frames only. [default: SOURCE_dream.mp4]",
)
@click.option(
    "--frames-dir",
    type=click.Path(path_type=Path),
    help=FRAMES_DIR_HELP,
)
@click.option(
    "--workers",
    type=click.IntRange(1, 4096),
    default=1,
    help="Dream the clip in this many chunks at once, one per worker (each chunk after the first warms up on "
    "--warmup frames before its own; borders cross-faded over --overlap frames). [default: 1; 2 with --executor]",
)
@click.option(
    "--executor",
    type=click.Choice(EXECUTOR_CHOICES),
    help="Where chunks run: this process (one after another), a pool of processes, or a Ray cluster ("
    f"{install_line('ray')}; the video and the frames folder at the same paths on every node).",
)
@click.option("--address", help="Ray cluster to join: auto, HOST:PORT or ray://HOST:10001 [default: a private one].")
@click.option("-s", "--style", help="A preset from `dreamer styles` or a .toml file (options given here win).")
@profile_options("video")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
@click.pass_context
def video(
    ctx: click.Context,
    source: Path,
    output: Path | None,
    frames_dir: Path | None,
    workers: int,
    executor: str | None,
    address: str | None,
    style: str | None,
    quiet: bool,
    **params: Any,
) -> None:
    """Dream a video (the help text is set above)."""
    from tqdm.auto import tqdm

    from dreamer.engine.engine import Engine
    from dreamer.outputs.frames import finished_frames, frames_folder
    from dreamer.video.run import FrameDone, dream_video
    from dreamer.video.score import line

    knobs = resolve(VideoSpec, given(ctx, params, VideoSpec))
    spec, _ = dream_spec(ctx, params, style=style, replay=None, base=profile("video").defaults(DreamSpec))
    engine = Engine(run_env(ctx, params))
    output = output or source.with_name(f"{source.stem}_dream.mp4")
    bars: list[Any] = []  # opened at the first finished frame, so an early error stays one line

    def show(ev: FrameDone) -> None:
        if not bars:
            bars.append(
                tqdm(total=ev.total, disable=quiet, desc="video frames", bar_format=ONE_RATE, dynamic_ncols=True)
            )
        bar = bars[0]
        bar.n = ev.index + 1
        left = f", {ev.eta:.0f} s left" if ev.eta is not None else ""
        flow = ev.flow_seconds / max(ev.seconds, 1e-9)
        bar.set_postfix_str(f"{ev.fps:.2f} frames/s{left}, {flow:.0%} of it optical flow", refresh=False)
        bar.refresh()

    try:
        result = dream_video(
            source,
            output,
            knobs,
            spec,
            engine=engine,
            frames_dir=frames_dir,
            on_event=show,
            workers=workers,
            executor=executor,
            address=address,
        )
        for bar in bars:  # the total was an estimate from the container: the count is now known
            bar.total = bar.n
            bar.set_postfix_str(bar.postfix.split(",")[0] if bar.postfix else "")
    except KeyboardInterrupt:
        folder = frames_folder(output, frames_dir)
        kept = len(finished_frames(folder))
        click.echo(f"interrupted: {kept} frames kept in {folder}; run the same command again to resume", err=True)
        ctx.exit(130)
    finally:
        for bar in bars:
            bar.close()
    n = len(result.frames)
    if result.stopped:
        click.echo(f"error: {result.stopped}; wrote {result.output} with the {n} frames before it", err=True)
        ctx.exit(1)
    if not quiet:
        click.echo(f"wrote {result.output} ({n} frames at {result.fps:g} fps)  (seed {result.seed})")
        if result.score is not None:
            click.echo(line(result.score))
