"""``dreamer video``: dream a clip with frame-to-frame coherence (options built from ``VideoSpec``)."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import click

from dreamer.cli import _render_options, base_config, build_config, cli
from dreamer.video.spec import VIDEO_CONFIG, VideoSpec


def _video_options(f: Any) -> Any:
    """One option per VideoSpec field, with the help, choices and default its metadata declares."""
    for field in reversed(dataclasses.fields(VideoSpec)):
        meta = field.metadata
        default = meta["default"]
        kind = click.Choice(meta["choices"]) if "choices" in meta else float if default is None else type(default)
        shown = "" if default is None or "[default" in meta["help"] else f" [default: {default}]"
        f = click.option(f"--{field.name.replace('_', '-')}", field.name, type=kind, help=meta["help"] + shown)(f)
    return f


@cli.command(
    help=(
        "Dream the video SOURCE frame by frame. In the default flow mode each frame starts from the last dream, "
        "warped along the optical flow, and is dreamed briefly, so the dream follows the motion instead of "
        "flickering. Frames are written to a folder as they finish; the same command resumes an interrupted run. "
        "The render options below shape the first frame's dream (--max-side is the frame size); --frame-steps "
        "and --frame-octaves the short dream of the others."
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
    help="Where frames go (and a resume looks). [default: the folder -o names, else OUTPUT_frames/]",
)
@click.option("-s", "--style", help="A preset from `dreamer styles` or a .toml file (options given here win).")
@_video_options
@functools.partial(_render_options, d=VIDEO_CONFIG)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
def video(
    source: Path, output: Path | None, frames_dir: Path | None, style: str | None, quiet: bool, **params: Any
) -> None:
    """Dream a video (the help text is set above)."""
    from tqdm.auto import tqdm

    from dreamer.animate.zoom import finished_frames
    from dreamer.video.run import FrameDone, dream_video

    names = [f.name for f in dataclasses.fields(VideoSpec)]
    spec = VideoSpec(**{k: params.pop(k) for k in names if params.get(k) is not None})
    for k in names:
        params.pop(k, None)
    base, _ = base_config(style=style, start=VIDEO_CONFIG)
    config = build_config(base, params)
    output = output or source.with_name(f"{source.stem}_dream.mp4")
    bars: list[Any] = []  # opened at the first finished frame, so an early error stays one line

    def show(ev: FrameDone) -> None:
        if not bars:
            bars.append(tqdm(total=ev.total, disable=quiet, desc="video frames", unit="frame", dynamic_ncols=True))
        bar = bars[0]
        bar.n = ev.index + 1
        bar.set_postfix(fps=f"{ev.fps:.2f}", flow=f"{ev.flow_seconds / max(ev.seconds, 1e-9):.0%}", refresh=False)
        bar.refresh()

    try:
        result = dream_video(source, output, spec, config, frames_dir=frames_dir, on_event=show)
    except KeyboardInterrupt:
        folder = frames_dir or (output if not output.suffix else output.with_name(f"{output.stem}_frames"))
        kept = len(finished_frames(folder)) if folder.is_dir() else 0
        click.echo(f"interrupted: {kept} frames kept in {folder}; run the same command again to resume", err=True)
        click.get_current_context().exit(130)
    finally:
        for bar in bars:
            bar.close()
    n = len(result.frames)
    if result.stopped:
        click.echo(f"error: {result.stopped}; wrote {result.output} with the {n} frames before it", err=True)
        click.get_current_context().exit(1)
    if not quiet:
        click.echo(f"wrote {result.output} ({n} frames at {result.fps:g} fps)  (seed {result.seed})")
