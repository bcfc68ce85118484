"""Animations out: frames joined into a looping GIF (Pillow) or an H.264 MP4 (imageio-ffmpeg), atomically."""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from dreamer.errors import DreamerError, install_line
from dreamer.outputs.frames import is_folder_output
from dreamer.outputs.images import atomic_write
from dreamer.outputs.limits import check_animation, gif_duration_ms

VIDEO_TYPES = (".gif", ".mp4")
MP4_NEEDS = f"MP4 output needs imageio-ffmpeg: {install_line('video')} (or write a .gif)"


def _write_gif(frames: list[Path], path: Path, fps: float, comment: str | None = None) -> None:
    """An endlessly looping GIF through Pillow (GIF timing is in 10 ms units), ``comment`` in its comment block."""
    images = [Image.open(p).convert("RGB") for p in frames]
    duration = gif_duration_ms(fps)
    extra = {"comment": comment.encode("utf-8")} if comment else {}
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0, **extra)


def _write_mp4(frames: list[Path], path: Path, fps: float, comment: str | None = None) -> None:
    """An H.264 MP4 through imageio-ffmpeg (its wheel ships the ffmpeg binary), ``comment`` in its metadata."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise DreamerError(f"{path}: {MP4_NEEDS}") from None
    size = Image.open(frames[0]).size
    tags = ["-metadata", f"comment={comment}"] if comment else []
    writer = imageio_ffmpeg.write_frames(
        str(path), size, fps=fps, codec="libx264", macro_block_size=2, output_params=["-f", "mp4", *tags]
    )
    writer.send(None)  # start ffmpeg
    try:
        for p in frames:
            writer.send(np.ascontiguousarray(np.asarray(Image.open(p).convert("RGB"))))
    finally:
        writer.close()


def check_output(
    output: Path, inputs: tuple[Path, ...] = (), fps: float | None = None, size: tuple[int, int] | None = None
) -> str:
    """What ``-o`` asks for: "frames" (a folder), "gif" or "mp4"; checked before any frame is dreamed.

    With ``fps`` and ``size`` (the frames') the format's own limits are checked too (``check_animation``).
    """
    kind = output.suffix.lower()
    for inp in inputs:
        if output.exists() and inp.exists() and output.resolve() == inp.resolve():
            raise DreamerError(f"{output}: output path is the input file; choose another name")
    if is_folder_output(output):
        return "frames"
    if kind not in VIDEO_TYPES:
        raise DreamerError(
            f"{output}: unknown animation type {output.suffix!r} (use .gif, .mp4 or a folder for frames)"
        )
    if not output.parent.is_dir():
        raise DreamerError(f"{output}: output folder {output.parent} does not exist")
    if kind == ".mp4" and importlib.util.find_spec("imageio_ffmpeg") is None:
        raise DreamerError(f"{output}: {MP4_NEEDS}")
    if fps is not None:
        check_animation(str(output), kind[1:], fps, size)
    return kind[1:]


def assemble(frames: list[Path], output: str | os.PathLike[str], fps: float = 24.0, comment: str | None = None) -> Path:
    """Join frames into ``output`` by extension (.gif through Pillow, .mp4 through imageio-ffmpeg), atomically.

    ``comment`` (e.g. the run's temporal-consistency score as JSON) goes into the file's comment.
    """
    out = Path(output)
    if not (fps > 0 and math.isfinite(fps)):
        raise DreamerError(f"must be a positive number (got {fps!r})", field="fps")
    kind = check_output(out, fps=fps)
    if kind == "frames":
        raise DreamerError(f"{out}: is a folder; give a .gif or .mp4 file to assemble into")
    if not frames:
        raise DreamerError(f"{out}: no frames to assemble")
    write = _write_gif if kind == "gif" else _write_mp4
    atomic_write(out, lambda tmp: write(frames, tmp, fps, comment))
    return out
