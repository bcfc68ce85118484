"""The infinite zoom: dream a frame, zoom into it a little, dream again; frames -> GIF or MP4.

Frame 0 is the dreamed photo; frame i dreams on frame i-1 zoomed, rotated and panned. Every frame
is an 8-bit image before the next one starts from it, and each frame's randomness comes from
(seed, frame index) alone, so a run resumed from frames on disk equals an uninterrupted one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from dreamer.core.tensors import to_pil, to_tensor
from dreamer.engine.engine import Engine, ImageLike
from dreamer.engine.events import CancelToken, OnEvent
from dreamer.engine.inputs import load_mask
from dreamer.engine.records import frame_record, looks
from dreamer.engine.seeds import frame_seed, seeded
from dreamer.errors import DreamerError
from dreamer.outputs.frames import FramesFolder, frame_size
from dreamer.outputs.imagelike import as_loaded
from dreamer.outputs.images import load_image
from dreamer.spec.presets import ZOOM_SPEC
from dreamer.spec.schema import to_dict
from dreamer.spec.specs import DreamSpec, MotionSpec

MANIFEST = "zoom.json"

FrameCallback = Callable[[int, Image.Image], None]  # (frame index, finished frame)


def transform(
    image: torch.Tensor, zoom: float, rotate: float = 0.0, pan: tuple[float, float] = (0.0, 0.0)
) -> torch.Tensor:
    """Zoom in by ``zoom`` about the centre, rotate by ``rotate`` degrees, move the view by ``pan`` pixels."""
    _, _, h, w = image.shape
    a = math.radians(rotate)
    cos, sin = math.cos(a) / zoom, math.sin(a) / zoom
    # affine_grid maps output to input in [-1, 1] coordinates per axis; the aspect terms keep
    # the rotation a rotation in pixels on non-square frames.
    theta = torch.tensor(
        [[cos, -sin * h / w, 2 * pan[0] / w], [sin * w / h, cos, 2 * pan[1] / h]],
        dtype=image.dtype,
        device=image.device,
    ).unsqueeze(0)
    grid = F.affine_grid(theta, list(image.shape), align_corners=False)
    out = F.grid_sample(image, grid, mode="bicubic", padding_mode="reflection", align_corners=False)
    return out.clamp_(0.0, 1.0)


def zoom(
    image: ImageLike,
    motion: MotionSpec | None = None,
    spec: DreamSpec | None = None,
    *,
    engine: Engine | None = None,
    start: int = 0,
    on_event: OnEvent | None = None,
    cancel: CancelToken | None = None,
    callback: FrameCallback | None = None,
) -> Iterator[Image.Image]:
    """Yield zoom frames ``start`` .. ``motion.frames - 1`` as they finish.

    With ``start == 0`` ``image`` is the photo; otherwise it is frame ``start - 1`` (e.g. read back
    from disk), so a run can resume where it stopped. ``spec`` defaults to the lighter ``ZOOM_SPEC``;
    pass ``engine`` to reuse already loaded models. ``on_event`` gets each frame's dream events.
    """
    motion = motion or MotionSpec()
    spec = spec or ZOOM_SPEC
    if not 0 <= start <= motion.frames:
        raise DreamerError(f"start must be between 0 and --frames {motion.frames} (got {start})")
    spec = seeded(spec)
    engine = engine or Engine()
    rgb = as_loaded(image, "image").rgb
    size = frame_size(rgb.size, spec.max_side)
    if start and rgb.size != size:
        raise DreamerError(f"frame {start - 1} is {rgb.size[0]}x{rgb.size[1]}, expected {size[0]}x{size[1]}")
    current = rgb if rgb.size == size else rgb.resize(size, Image.Resampling.LANCZOS)
    mask = load_mask(spec.mask, (size[1], size[0])) if spec.mask else None
    for index in range(start, motion.frames):
        x = to_tensor(current)  # always from the 8-bit frame, as a resumed run reads it
        if index > 0:
            x = transform(x, motion.zoom, motion.rotate, motion.pan)
        frame_spec = spec.replace(seed=frame_seed(spec.seed, index))
        current = to_pil(engine.dream_frame(x, frame_spec, mask=mask, on_event=on_event, cancel=cancel))
        if callback is not None:
            callback(index, current)
        yield current


def zoom_folder(folder: str | os.PathLike[str]) -> FramesFolder:
    """A zoom's frames folder, its settings in ``zoom.json``."""
    return FramesFolder(folder, MANIFEST)


def _settings(spec: DreamSpec, motion: MotionSpec, source: str) -> dict[str, Any]:
    """What frames in a folder depend on: a resume must use the same (the frame count may grow)."""
    return {
        "spec": looks(spec),
        "motion": {k: v for k, v in to_dict(motion).items() if k not in ("frames", "fps")},
        "source": source,
    }


def render_zoom(
    image: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    motion: MotionSpec | None = None,
    spec: DreamSpec | None = None,
    *,
    engine: Engine | None = None,
    on_event: OnEvent | None = None,
    on_frame: FrameCallback | None = None,
    cancel: CancelToken | None = None,
) -> list[Path]:
    """Write zoom frames into ``folder`` as they finish, resuming after the last finished one.

    Returns the paths of frames 0 .. frames-1. The folder keeps the settings in ``zoom.json``;
    a resume without a seed reuses the recorded one, and other settings are refused.
    """
    motion = motion or MotionSpec()
    frames = zoom_folder(folder)
    loaded = load_image(image)
    engine = engine or Engine()
    plan = engine.plan(seeded(spec or ZOOM_SPEC, frames.recorded_seed()))
    settings = _settings(plan.spec, motion, Path(image).name)
    done = frames.resume(settings)[: motion.frames]
    first = loaded if not done else load_image(done[-1])
    dreamed = zoom(first, motion, plan.spec, engine=engine, start=len(done), on_event=on_event, cancel=cancel)
    for index, frame in enumerate(dreamed, len(done)):
        meta = frame_record(plan, index, settings["source"], motion=to_dict(motion))
        done.append(frames.save(index, frame, settings, meta))
        if on_frame is not None:
            on_frame(index, frame)
    return done
