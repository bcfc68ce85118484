"""A video run checked and planned before its first frame, and what single and chunked runs share after it.

The progress event, the preparation (paths, input, plan, the settings frames depend on), the
frame-by-frame sample of the score and writing the output file.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamer.core.octaves import MIN_SIDE
from dreamer.engine.engine import Engine
from dreamer.engine.events import CancelToken
from dreamer.engine.inputs import load_mask
from dreamer.engine.plan import Plan
from dreamer.engine.records import looks
from dreamer.engine.seeds import seeded
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.outputs.animation import assemble
from dreamer.outputs.frames import FramesFolder, check_folder, frame_size, frames_folder
from dreamer.outputs.images import atomic_write
from dreamer.outputs.limits import check_animation
from dreamer.spec.schema import to_dict
from dreamer.spec.specs import DreamSpec
from dreamer.spec.video import VideoSpec
from dreamer.video import score as scoring
from dreamer.video.frames import check_output, video_folder
from dreamer.video.io import VideoInfo, probe, read_frames, require, write_mp4


@dataclass(frozen=True)
class FrameDone:
    """Progress event: frame ``index`` is written (``total`` may be an estimate)."""

    index: int
    total: int | None
    seconds: float  # this frame's time
    flow_seconds: float  # of which optical flow and warping
    fps: float  # frames dreamed per second so far in this run
    eta: float | None  # seconds left, when the total is known


OnEvent = Callable[[FrameDone], None]


@dataclass(frozen=True)
class Setup:
    """A video run checked and planned before its first frame: where it goes, what it reads, what frames depend on."""

    source: Path
    output: Path
    kind: str  # "frames", "mp4" or "gif"
    folder: Path
    frames_at: FramesFolder
    info: VideoInfo
    size: tuple[int, int]
    fps: float
    video: VideoSpec
    plan: Plan
    settings: dict[str, Any]
    mask: torch.Tensor | None
    total: int | None  # frames in the slice, estimated from the container

    def frames(self) -> Any:
        """The input frames of the slice at the work size."""
        video = self.video
        return read_frames(self.source, self.size, start=video.start, duration=video.duration, fps=self.fps)


def _settings(video: VideoSpec, spec: DreamSpec, source: Path, size: tuple[int, int], fps: float) -> dict[str, Any]:
    """What the frames in a folder depend on: a resume must use the same (the duration may change)."""
    knobs = {k: v for k, v in to_dict(video).items() if k not in ("duration", "score_frames")}
    return {"spec": looks(spec), "video": knobs, "source": source.name, "size": list(size), "fps": fps, "chunks": None}


def _seeable(source: Path, size: tuple[int, int]) -> tuple[int, int]:
    """Tiny frames stretched, with a warning, to ``MIN_SIDE`` a side: what the network and the optical flow need."""
    seen = (max(size[0], MIN_SIDE), max(size[1], MIN_SIDE))
    if seen != size:
        message = (
            f"{source}: frames are only {size[0]}x{size[1]}; dreamed at {seen[0]}x{seen[1]}, "
            "the smallest the network sees"
        )
        warnings.warn(message, DreamerWarning, stacklevel=4)
    return seen


def prepare(
    source: Path, output: Path, video: VideoSpec, spec: DreamSpec, engine: Engine, frames_dir: Path | None
) -> Setup:
    """Check the paths and the input, plan the dream (the recorded seed on a resume): everything before frame 0."""
    require()
    kind = check_output(output, source)
    folder = frames_folder(output, frames_dir)
    check_folder(folder)
    info = probe(source)
    if info.duration is not None and video.start >= info.duration:
        raise DreamerError(f"{video.start:g} s is past the end of {source} ({info.duration:.2f} s)", field="start")
    size, fps = _seeable(source, frame_size(info.size, spec.max_side)), video.fps or info.fps
    check_animation(str(output), kind, fps, size)
    frames_at = video_folder(folder)
    plan = engine.plan(seeded(spec, frames_at.recorded_seed()))  # a resume without a seed takes the recorded one
    settings = _settings(video, plan.spec, source, size, fps)
    mask = load_mask(plan.spec.mask, (size[1], size[0])) if plan.spec.mask else None
    length = (info.duration or 0.0) - video.start
    total = math.ceil(min(video.duration or length, length) * fps - 1e-6) if info.duration else None
    return Setup(source, output, kind, folder, frames_at, info, size, fps, video, plan, settings, mask, total)


def sample_error(
    setup: Setup, engine: Engine, sample: list[np.ndarray], first_out: Any, cancel: CancelToken | None
) -> tuple[int, float | None] | None:
    """(frames, warping error) of frame-by-frame dreaming on the first frames: recorded, or dreamed now."""
    if len(sample) < 2 or setup.video.mode == "frames" or first_out is None:
        return None
    cached = scoring.cached_sample(setup.frames_at.read_state(), len(sample))
    if cached is not None:
        return len(sample), cached
    spec = setup.plan.spec
    return len(sample), scoring.frame_by_frame(engine, spec, setup.video, sample, first_out, setup.mask, cancel)


def write_output(setup: Setup, frames: list[Path], record: dict[str, Any]) -> None:
    """The MP4 (with the input's sound) or GIF from the frames, carrying the score; nothing for a frames folder."""
    comment = scoring.comment(record)
    video = setup.video
    if setup.kind == "mp4":
        audio = (setup.source, video.start, video.duration) if setup.info.audio else None
        atomic_write(setup.output, lambda tmp: write_mp4(frames, tmp, setup.fps, audio, comment))
    elif setup.kind == "gif":
        assemble(frames, setup.output, setup.fps, comment)


def with_chunks(setup: Setup, chunks: list[list[int]]) -> Setup:
    """``setup`` whose settings record the chunk borders (a chunked run's frames depend on them)."""
    return replace(setup, settings={**setup.settings, "chunks": chunks})
