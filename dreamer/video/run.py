"""Dream a video frame by frame, carrying the last dream along the optical flow so it does not flicker.

Frame 0 gets the full (light) dream. Each later frame starts from the input frame plus the previous
output's dream detail (output - input), warped along the flow between the two *input* frames, scaled by
``blend``, left out where the flow is occluded and capped in strength; then it gets a short dream.
A frame depends only on the 8-bit frames before it (on disk), input frames (decoded again) and
(seed, index), so a resumed run writes the same frames as an uninterrupted one.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dreamer.engine.engine import Engine
from dreamer.engine.events import CancelToken
from dreamer.engine.records import frame_record
from dreamer.errors import DreamerError
from dreamer.outputs.frames import FRAME_NAME
from dreamer.spec.presets import VIDEO_SPEC
from dreamer.spec.specs import DreamSpec
from dreamer.spec.video import VideoSpec
from dreamer.video import score as scoring
from dreamer.video.chain import Chain, carry, dream_frame, rms
from dreamer.video.io import CorruptStream, rgb_array
from dreamer.video.setup import FrameDone, OnEvent, Setup, prepare, sample_error, write_output

# carry & co. live in video.chain, FrameDone in video.setup: importable from here as before
__all__ = ["FrameDone", "OnEvent", "VideoResult", "carry", "dream_frame", "dream_video", "rms"]


@dataclass(frozen=True)
class VideoResult:
    """What ``dream_video`` wrote; ``stopped`` says where a corrupt input stream ended the clip."""

    frames: list[Path]
    output: Path
    fps: float
    seed: int
    stopped: str | None = None
    score: dict[str, Any] | None = None  # the temporal-consistency record (``video.score``), also in video.json


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
