"""The infinite zoom: dream a frame, zoom into it a little, dream again; frames -> GIF or MP4.

Frame 0 is the dreamed photo; frame i dreams on frame i-1 zoomed, rotated and panned. Every frame
is an 8-bit image before the next one starts from it, and each frame's randomness comes from
(seed, frame index) alone, so a run resumed from frames on disk equals an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from dreamer import __version__
from dreamer.core.blend import finish
from dreamer.core.tensors import to_pil, to_tensor
from dreamer.engine.engine import Engine, ImageLike
from dreamer.engine.events import CancelToken, OnEvent
from dreamer.engine.inputs import load_mask
from dreamer.errors import DreamerError
from dreamer.outputs.images import as_loaded, atomic_write, fit_max_side, load_image, save_image
from dreamer.outputs.metadata import document
from dreamer.spec.presets import ZOOM_SPEC
from dreamer.spec.schema import Kind, to_dict
from dreamer.spec.specs import DreamSpec, MotionSpec

FRAME_NAME = "frame_{:05d}.png"
MANIFEST = "zoom.json"

FrameCallback = Callable[[int, Image.Image], None]  # (frame index, finished frame)


def frame_seed(seed: int, index: int) -> int:
    """The seed of one frame, from the run's seed and the frame index only (so resuming repeats it)."""
    state = np.random.SeedSequence([seed % 2**63, index]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


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


def frame_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) of the frames: fitted to ``max_side``, rounded down to even for video codecs."""
    w, h = fit_max_side(size, max_side)
    return max(2, w - w % 2), max(2, h - h % 2)


def _blend(dreamed: torch.Tensor, source: torch.Tensor, spec: DreamSpec, mask: torch.Tensor | None) -> torch.Tensor:
    """Keep-colours, strength and mask, as a still applies them, against the frame the dream started from."""
    if not (spec.keep_colors or spec.strength < 1.0 or mask is not None):
        return dreamed
    return finish(dreamed, source, keep_colors=spec.keep_colors, strength=spec.strength, mask=mask)


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
    seed = spec.seed if spec.seed is not None else secrets.randbits(63)
    engine = engine or Engine()
    rgb = as_loaded(image).rgb
    size = frame_size(rgb.size, spec.max_side)
    if start and rgb.size != size:
        raise DreamerError(f"frame {start - 1} is {rgb.size[0]}x{rgb.size[1]}, expected {size[0]}x{size[1]}")
    current = rgb if rgb.size == size else rgb.resize(size, Image.Resampling.LANCZOS)
    mask = load_mask(spec.mask, (size[1], size[0])) if spec.mask else None
    for index in range(start, motion.frames):
        x = to_tensor(current)  # always from the 8-bit frame, as a resumed run reads it
        if index > 0:
            x = transform(x, motion.zoom, motion.rotate, motion.pan)
        frame_spec = spec.replace(seed=frame_seed(seed, index))
        dreamed = engine.dream_tensor(x, frame_spec, on_event=on_event, cancel=cancel)
        current = to_pil(_blend(dreamed.cpu(), x, spec, mask))
        if callback is not None:
            callback(index, current)
        yield current


def finished_frames(folder: Path) -> list[Path]:
    """The frames in ``folder`` numbered 0, 1, 2, ... without a gap (the ones a resume can trust)."""
    done = []
    while (folder / FRAME_NAME.format(len(done))).is_file():
        done.append(folder / FRAME_NAME.format(len(done)))
    return done


def _settings(spec: DreamSpec, motion: MotionSpec, source: str) -> dict[str, Any]:
    """What frames in a folder depend on: a resume must use the same (the frame count may grow)."""
    return {
        "spec": to_dict(spec, (Kind.LOOK, Kind.FILE)),
        "motion": {k: v for k, v in to_dict(motion).items() if k not in ("frames", "fps")},
        "source": source,
        "dreamer_version": __version__,
    }


def _check_manifest(folder: Path, settings: dict[str, Any]) -> None:
    """Refuse to continue frames that were made with other settings (or a state file that is not ours)."""
    path = folder / MANIFEST
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise DreamerError(f"{path}: cannot read the settings of the frames there; delete it to start over") from None
    if not isinstance(old, dict) or not all(isinstance(old.get(k), dict) for k in ("spec", "motion")):
        raise DreamerError(f"{path}: is not a zoom state file of this version; delete it or use another folder")
    changed = [k for k, v in settings["motion"].items() if old["motion"].get(k) != v]
    changed += ["source"] if old.get("source") != settings["source"] else []
    changed += [k for k, v in settings["spec"].items() if old["spec"].get(k) != v]
    if changed:
        raise DreamerError(
            f"{folder}: holds frames made with other settings ({', '.join(changed)}); "
            "use the same options, another frames folder, or delete it to start over"
        )


def recorded_seed(folder: Path) -> int | None:
    """The seed stored in a frames folder's state file, if there is a valid one."""
    try:
        seed = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["spec"]["seed"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError, KeyError, TypeError):
        return None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**63 else None


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
    spec = spec or ZOOM_SPEC
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DreamerError(f"{folder}: is a file; the frames folder must be a directory")
    loaded = load_image(image)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DreamerError(f"{folder}: cannot create the frames folder ({exc.strerror or exc})") from None
    has_manifest = (folder / MANIFEST).exists()
    done = finished_frames(folder)
    if spec.seed is None:
        spec = spec.replace(seed=(recorded_seed(folder) if has_manifest else None) or secrets.randbits(63))
    settings = _settings(spec, motion, Path(image).name)
    if has_manifest:
        _check_manifest(folder, settings)
    elif done:
        raise DreamerError(f"{folder}: holds frames but no {MANIFEST}; use an empty frames folder")
    else:
        text = json.dumps(settings, indent=2, sort_keys=True)
        atomic_write(folder / MANIFEST, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    done = done[: motion.frames]
    first = loaded if not done else load_image(done[-1])
    engine = engine or Engine()
    env = {"device": str(engine.device), "precision": engine.precision}
    frames = zoom(first, motion, spec, engine=engine, start=len(done), on_event=on_event, cancel=cancel)
    for index, frame in enumerate(frames, len(done)):
        # Each frame carries its settings, so `dreamer info` and `--replay` read it like a still's.
        meta = document("frame", settings["spec"], env, motion=to_dict(motion), source=settings["source"], frame=index)
        done.append(save_image(frame, folder / FRAME_NAME.format(index), metadata=meta))
        if on_frame is not None:
            on_frame(index, frame)
    return done
