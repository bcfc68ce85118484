"""Dream a video frame by frame, carrying the last dream along the optical flow so it does not flicker.

Frame 0 gets the full (light) dream. Each later frame starts from the input frame plus the previous
output's dream detail (output - input), warped along the flow between the two *input* frames, scaled by
``blend``, left out where the flow is occluded and capped in strength; then it gets a short dream.
A frame depends only on the 8-bit frames before it (on disk), input frames (decoded again) and
(seed, index), so a resumed run writes the same frames as an uninterrupted one.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from dreamer.core.octaves import MIN_SIDE
from dreamer.engine.engine import Engine
from dreamer.engine.events import CancelToken
from dreamer.engine.inputs import load_mask
from dreamer.engine.plan import Plan
from dreamer.engine.records import frame_record, looks
from dreamer.engine.seeds import seeded
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.outputs.animation import assemble
from dreamer.outputs.frames import FRAME_NAME, FramesFolder, check_folder, frame_size, frames_folder
from dreamer.outputs.images import atomic_write
from dreamer.outputs.limits import check_animation
from dreamer.spec.presets import VIDEO_SPEC
from dreamer.spec.schema import to_dict
from dreamer.spec.specs import DreamSpec
from dreamer.spec.video import VideoSpec
from dreamer.video import score as scoring
from dreamer.video.chain import Chain, carry, dream_frame, rms
from dreamer.video.frames import check_output, video_folder
from dreamer.video.io import CorruptStream, VideoInfo, probe, read_frames, require, rgb_array, write_mp4

__all__ = ["FrameDone", "VideoResult", "carry", "dream_frame", "dream_video", "rms"]  # carry & co: from video.chain


@dataclass(frozen=True)
class FrameDone:
    """Progress event: frame ``index`` is written (``total`` may be an estimate)."""

    index: int
    total: int | None
    seconds: float  # this frame's time
    flow_seconds: float  # of which optical flow and warping
    fps: float  # frames dreamed per second so far in this run
    eta: float | None  # seconds left, when the total is known


@dataclass(frozen=True)
class VideoResult:
    """What ``dream_video`` wrote; ``stopped`` says where a corrupt input stream ended the clip."""

    frames: list[Path]
    output: Path
    fps: float
    seed: int
    stopped: str | None = None
    score: dict[str, Any] | None = None  # the temporal-consistency record (``video.score``), also in video.json


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


def dream_video(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    video: VideoSpec | None = None,
    spec: DreamSpec | None = None,
    *,
    engine: Engine | None = None,
    frames_dir: str | os.PathLike[str] | None = None,
    on_event: OnEvent | None = None,
    cancel: CancelToken | None = None,
    workers: int = 1,
    executor: str | None = None,
    address: str | None = None,
) -> VideoResult:
    """Dream ``source`` into ``output`` (.mp4 with the input's sound, .gif, or a folder of frames).

    Frames go to ``frames_dir`` (default: the folder ``output`` names, else OUTPUT_frames/) as they finish,
    with the settings in ``video.json``; the same call after an interruption continues there, and other
    settings are refused. ``spec`` is the first frame's dream (default ``VIDEO_SPEC``); pass ``engine``
    to reuse loaded models. ``workers`` over 1 (or ``executor`` pool or ray, ``address`` a Ray cluster)
    dreams the clip in that many chunks at once (``video.chunked``). The temporal-consistency score
    (``video.score``) comes back in the result and goes into video.json and the output's metadata.
    """
    engine = engine or Engine()
    setup = prepare(Path(source), Path(output), video or VideoSpec(), spec or VIDEO_SPEC, engine, _path(frames_dir))
    if workers > 1 or executor in ("pool", "ray") or address:
        from dreamer.video.chunked import dream_chunks

        frames, stopped, record = dream_chunks(setup, engine, workers, executor, address, on_event, cancel)
    else:
        frames, stopped, record = _dream_single(setup, engine, on_event, cancel)
    setup.frames_at.annotate(scoring.KEY, record)
    write_output(setup, frames, record)
    out = setup.output if setup.kind != "frames" else setup.folder
    return VideoResult(frames, out, setup.fps, setup.plan.seed, stopped, record)


def _path(path: str | os.PathLike[str] | None) -> Path | None:
    return Path(path) if path else None


def _dream_single(
    setup: Setup, engine: Engine, on_event: OnEvent | None, cancel: CancelToken | None
) -> tuple[list[Path], str | None, dict[str, Any]]:
    """The clip as one chain in this process: (frames, where a corrupt stream stopped it, the score record)."""
    video, folder, plan = setup.video, setup.folder, setup.plan
    done = setup.frames_at.resume(setup.settings)
    chain = Chain(engine, plan.spec, video, setup.mask)
    frames: list[Path] = []
    sample: list[np.ndarray] = []  # the first input frames, for the frame-by-frame comparison
    stopped, dreamed, started = None, 0, time.perf_counter()
    try:
        for index, cur_in in enumerate(setup.frames()):
            if index < len(done):  # finished in an earlier run: read back, for the next frame and the score
                chain.advance(index, cur_in, rgb_array(done[index]))
            else:
                t0 = time.perf_counter()
                out, flow_seconds = chain.dream(index, cur_in, cancel)
                meta = frame_record(plan, index, setup.source.name, video=setup.settings["video"])
                setup.frames_at.save(index, Image.fromarray(out), setup.settings, meta)
                dreamed += 1
                if on_event is not None:
                    rate = dreamed / (time.perf_counter() - started)
                    eta = (setup.total - index - 1) / rate if setup.total is not None else None
                    on_event(FrameDone(index, setup.total, time.perf_counter() - t0, flow_seconds, rate, eta))
            if index < video.score_frames:
                sample.append(cur_in)
            if index == 0:
                first_out = chain.prev_out
            frames.append(folder / FRAME_NAME.format(index))
    except CorruptStream as exc:
        if not frames:
            raise
        stopped = str(exc)
    if not frames:
        where = f" from --start {video.start:g} s" if video.start else ""
        raise DreamerError(f"{setup.source}: has no frames{where}")
    record = scoring.summarize(chain.inputs, chain.outputs, sample_error(setup, engine, sample, first_out, cancel))
    return frames, stopped, record


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
