"""Where a video dream's output goes (its frames folder and resume: ``dreamer.outputs.frames``)."""

from __future__ import annotations

import os
from pathlib import Path

from dreamer.errors import DreamerError
from dreamer.outputs.frames import FramesFolder, check_folder, is_folder_output
from dreamer.video.chunks import SEAM_FILE
from dreamer.video.io import OUTPUT_TYPES

STATE = "video.json"


def video_folder(folder: str | os.PathLike[str]) -> FramesFolder:
    """A video dream's frames folder, its settings in ``video.json`` (and a chunked run's seam frames)."""
    return FramesFolder(folder, STATE, SEAM_FILE)


def check_output(output: Path, source: Path) -> str:
    """What ``-o`` asks for: "frames" (a folder), "mp4" or "gif"; refused before any frame is dreamed."""
    kind = output.suffix.lower()
    if is_folder_output(output):
        check_folder(output)
        return "frames"
    if kind not in OUTPUT_TYPES:
        raise DreamerError(f"{output}: unknown video type {output.suffix!r} (use .mp4, .gif or a folder for frames)")
    if output.exists() and source.exists() and output.resolve() == source.resolve():
        raise DreamerError(f"{output}: output path is the input video; choose another name")
    if not output.parent.is_dir():
        raise DreamerError(f"{output}: output folder {output.parent} does not exist")
    if not os.access(output.parent, os.W_OK):
        raise DreamerError(f"{output}: output folder {output.parent} is not writable")
    return kind[1:]
