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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from dreamer.core import flow as fl
from dreamer.core.octaves import MIN_SIDE
from dreamer.core.tensors import to_pil
from dreamer.engine.engine import Engine
from dreamer.engine.events import CancelToken
from dreamer.engine.inputs import load_mask
from dreamer.engine.records import frame_record, looks
from dreamer.engine.seeds import frame_seed, seeded
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.outputs.animation import assemble
from dreamer.outputs.frames import FRAME_NAME, check_folder, frame_size, frames_folder
from dreamer.outputs.images import atomic_write
from dreamer.outputs.limits import check_animation
from dreamer.spec.presets import VIDEO_SPEC
from dreamer.spec.schema import to_dict
from dreamer.spec.specs import DreamSpec
from dreamer.spec.video import VideoSpec
from dreamer.video.frames import check_output, video_folder
from dreamer.video.io import CorruptStream, probe, read_frames, require, rgb_array, write_mp4


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


OnEvent = Callable[[FrameDone], None]


def dream_frame(
    engine: Engine,
    start: np.ndarray,
    spec: DreamSpec,
    mask: torch.Tensor | None = None,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """The one call into the engine: (H, W, 3) float [0, 1] -> dreamed (H, W, 3) uint8.

    Keep-colours, strength and the mask apply against the frame the dream started from, as the zoom does.
    """
    x = torch.from_numpy(np.ascontiguousarray(start, dtype=np.float32)).permute(2, 0, 1)[None]
    return np.asarray(to_pil(engine.dream_frame(x, spec, mask=mask, cancel=cancel)))


def _float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


def rms(detail: np.ndarray) -> float:
    """Root mean square of a detail image (output - input, floats)."""
    return float(np.sqrt(np.mean(np.square(detail, dtype=np.float64))))


def carry(
    prev_in: np.ndarray, prev_out: np.ndarray, cur_in: np.ndarray, spec: VideoSpec, reference: float
) -> tuple[np.ndarray, float]:
    """The start image of the next frame, (H, W, 3) float [0, 1], and the occluded share (flow mode).

    ``reference`` is the first frame's detail RMS, the most the carried detail may hold times ``detail_cap``.
    """
    cur = _float(cur_in)
    if spec.mode == "frames":
        return cur, 0.0
    if spec.mode == "blend":
        return (1.0 - spec.blend) * cur + spec.blend * _float(prev_out), 0.0
    a, b = fl.gray(prev_in), fl.gray(cur_in)
    back, fwd = fl.flow(b, a, spec.flow), fl.flow(a, b, spec.flow)  # new -> old, old -> new
    detail = fl.warp(_float(prev_out) - _float(prev_in), back)
    occluded = fl.occlusion(back, fwd, spec.occlusion)
    detail *= spec.blend * (~occluded)[..., None]  # occluded: the raw frame, dreamed fresh
    if spec.detail_cap and (r := rms(detail)) > spec.detail_cap * reference > 0:
        detail *= spec.detail_cap * reference / r  # no detail piling up frame after frame on still scenes
    return np.clip(cur + detail, 0.0, 1.0), float(occluded.mean())


def _settings(video: VideoSpec, spec: DreamSpec, source: Path, size: tuple[int, int], fps: float) -> dict[str, Any]:
    """What the frames in a folder depend on: a resume must use the same (the duration may change)."""
    knobs = {k: v for k, v in to_dict(video).items() if k != "duration"}
    return {"spec": looks(spec), "video": knobs, "source": source.name, "size": list(size), "fps": fps}


def _seeable(source: Path, size: tuple[int, int]) -> tuple[int, int]:
    """Tiny frames stretched, with a warning, to ``MIN_SIDE`` a side: what the network and the optical flow need."""
    seen = (max(size[0], MIN_SIDE), max(size[1], MIN_SIDE))
    if seen != size:
        message = (
            f"{source}: frames are only {size[0]}x{size[1]}; dreamed at {seen[0]}x{seen[1]}, "
            "the smallest the network sees"
        )
        warnings.warn(message, DreamerWarning, stacklevel=3)
    return seen


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
) -> VideoResult:
    """Dream ``source`` into ``output`` (.mp4 with the input's sound, .gif, or a folder of frames).

    Frames go to ``frames_dir`` (default: the folder ``output`` names, else OUTPUT_frames/) as they finish,
    with the settings in ``video.json``; the same call after an interruption continues there, and other
    settings are refused. ``spec`` is the first frame's dream (default ``VIDEO_SPEC``); pass ``engine``
    to reuse loaded models.
    """
    require()
    video = video or VideoSpec()
    spec = spec or VIDEO_SPEC
    source, output = Path(source), Path(output)
    kind = check_output(output, source)
    folder = frames_folder(output, Path(frames_dir) if frames_dir else None)
    check_folder(folder)
    info = probe(source)
    if info.duration is not None and video.start >= info.duration:
        raise DreamerError(f"{video.start:g} s is past the end of {source} ({info.duration:.2f} s)", field="start")
    size, fps = _seeable(source, frame_size(info.size, spec.max_side)), video.fps or info.fps
    check_animation(str(output), kind, fps, size)
    frames_at = video_folder(folder)
    engine = engine or Engine()
    plan = engine.plan(seeded(spec, frames_at.recorded_seed()))  # a resume without a seed takes the recorded one
    spec, seed = plan.spec, plan.seed
    settings = _settings(video, spec, source, size, fps)
    done = frames_at.resume(settings)
    mask = load_mask(spec.mask, (size[1], size[0])) if spec.mask else None
    length = (info.duration or 0.0) - video.start
    total = math.ceil(min(video.duration or length, length) * fps - 1e-6) if info.duration else None
    frames: list[Path] = []
    stopped, dreamed, started = None, 0, time.perf_counter()
    prev_in = prev_out = None
    reference = 0.0
    try:
        for index, cur_in in enumerate(read_frames(source, size, start=video.start, duration=video.duration, fps=fps)):
            if index < len(done):  # finished in an earlier run: only what the next frame needs
                prev_out = rgb_array(done[index]) if index + 1 == len(done) else None
            else:
                t0 = time.perf_counter()
                first = index == 0 or video.mode == "frames"
                start_image = _float(cur_in) if index == 0 else carry(prev_in, prev_out, cur_in, video, reference)[0]
                flow_seconds = time.perf_counter() - t0
                frame_spec = (spec if first else video.frame_spec(spec)).replace(seed=frame_seed(seed, index))
                prev_out = dream_frame(engine, start_image, frame_spec, mask, cancel)
                meta = frame_record(plan, index, source.name, video=settings["video"])
                frames_at.save(index, Image.fromarray(prev_out), settings, meta)
                dreamed += 1
                if on_event is not None:
                    rate = dreamed / (time.perf_counter() - started)
                    eta = (total - index - 1) / rate if total is not None else None
                    on_event(FrameDone(index, total, time.perf_counter() - t0, flow_seconds, rate, eta))
            if index == 0:
                first_out = prev_out if prev_out is not None else rgb_array(done[0])
                reference = rms(_float(first_out) - _float(cur_in))
            frames.append(folder / FRAME_NAME.format(index))
            prev_in = cur_in
    except CorruptStream as exc:
        if not frames:
            raise
        stopped = str(exc)
    if not frames:
        where = f" from --start {video.start:g} s" if video.start else ""
        raise DreamerError(f"{source}: has no frames{where}")
    if kind == "mp4":
        audio = (source, video.start, video.duration) if info.audio else None
        atomic_write(output, lambda tmp: write_mp4(frames, tmp, fps, audio))
    elif kind == "gif":
        assemble(frames, output, fps)
    return VideoResult(frames, output if kind != "frames" else folder, fps, seed, stopped)
