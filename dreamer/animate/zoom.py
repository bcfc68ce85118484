"""The infinite zoom: dream a frame, zoom into it a little, dream again; frames -> GIF or MP4.

Frame 0 is the dreamed photo; frame i dreams on frame i-1 zoomed, rotated and panned. Every frame
is an 8-bit image before the next one starts from it, and each frame's randomness comes from
(seed, frame index) alone, so a run resumed from frames on disk equals an uninterrupted one.
"""

from __future__ import annotations

import importlib.util
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
from dreamer.engine.engine import Dreamer, ImageLike
from dreamer.errors import DreamerError
from dreamer.outputs.images import as_loaded, atomic_write, fit_max_side, load_image, save_image, to_pil, to_tensor
from dreamer.spec.config import ZOOM_CONFIG, DreamConfig

FRAME_NAME = "frame_{:05d}.png"
MANIFEST = "zoom.json"
VIDEO_TYPES = (".gif", ".mp4")
MP4_NEEDS = "MP4 output needs imageio-ffmpeg: pip install 'dreamer[video]' (or write a .gif)"

FrameCallback = Callable[[int, Image.Image], None]  # (frame index, finished frame)


def frame_seed(seed: int, index: int) -> int:
    """The seed of one frame, from the run's seed and the frame index only (so resuming repeats it)."""
    state = np.random.SeedSequence([seed % 2**63, index]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def parse_pan(text: str) -> tuple[float, float]:
    """``"DX,DY"`` in pixels per frame -> (dx, dy); anything else is a one-line error."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        dx, dy = (float(p) for p in parts)
    except ValueError:
        raise DreamerError(f"--pan must be two numbers DX,DY in pixels per frame, e.g. 2,-1 (got {text!r})") from None
    if not (math.isfinite(dx) and math.isfinite(dy)):
        raise DreamerError(f"--pan values must be finite numbers (got {text!r})")
    return dx, dy


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


def _check_motion(frames: int, zoom: float, rotate: float) -> None:
    """Reject a frame count, zoom or rotation no animation can use, naming the option."""
    if frames < 1:
        raise DreamerError(f"--frames must be at least 1 (got {frames})")
    if not (zoom > 0 and math.isfinite(zoom)):
        raise DreamerError(f"--zoom must be a positive number (got {zoom!r})")
    if not math.isfinite(rotate):
        raise DreamerError(f"--rotate must be a finite number of degrees (got {rotate!r})")


def zoom(
    image: ImageLike,
    frames: int = 60,
    *,
    zoom: float = 1.04,
    rotate: float = 0.0,
    pan: tuple[float, float] = (0.0, 0.0),
    config: DreamConfig | None = None,
    dreamer: Dreamer | None = None,
    start: int = 0,
    progress: bool = True,
    callback: FrameCallback | None = None,
    **options: Any,
) -> Iterator[Image.Image]:
    """Yield zoom frames ``start`` .. ``frames - 1`` as they finish.

    With ``start == 0`` ``image`` is the photo; otherwise it is frame ``start - 1`` (e.g. read back
    from disk), so a run can resume where it stopped. Knobs as a DreamConfig or keywords (lighter
    defaults: ``ZOOM_CONFIG``); pass ``dreamer`` to reuse already loaded models.
    """
    config = (config or ZOOM_CONFIG).replace(**options)
    _check_motion(frames, zoom, rotate)
    if not 0 <= start <= frames:
        raise DreamerError(f"start must be between 0 and --frames {frames} (got {start})")
    seed = config.seed if config.seed is not None else secrets.randbits(63)
    dreamer = dreamer or Dreamer(config.device)
    rgb = as_loaded(image).rgb
    size = frame_size(rgb.size, config.max_side)
    if start and rgb.size != size:
        raise DreamerError(f"frame {start - 1} is {rgb.size[0]}x{rgb.size[1]}, expected {size[0]}x{size[1]}")
    current = rgb if rgb.size == size else rgb.resize(size, Image.Resampling.LANCZOS)
    from tqdm.auto import tqdm

    with tqdm(total=frames, initial=start, disable=not progress, desc="zoom frames", unit="frame") as bar:
        for index in range(start, frames):
            x = to_tensor(current)  # always from the 8-bit frame, as a resumed run reads it
            if index > 0:
                x = transform(x, zoom, rotate, pan)
            dreamed = dreamer.dream_tensor(x, config.replace(seed=frame_seed(seed, index)), progress=False)
            current = to_pil(dreamed)
            if callback is not None:
                callback(index, current)
            bar.update(1)
            yield current


_zoom_frames = zoom  # for callers whose own ``zoom`` argument hides the function


def finished_frames(folder: Path) -> list[Path]:
    """The frames in ``folder`` numbered 0, 1, 2, ... without a gap (the ones a resume can trust)."""
    done = []
    while (folder / FRAME_NAME.format(len(done))).is_file():
        done.append(folder / FRAME_NAME.format(len(done)))
    return done


def _settings(config: DreamConfig, zoom: float, rotate: float, pan: tuple[float, float], source: str) -> dict[str, Any]:
    """What frames in a folder depend on: a resume must use the same (the frame count may grow)."""
    return {
        "config": config.to_dict(),
        "zoom": zoom,
        "rotate": rotate,
        "pan": list(pan),
        "source": source,
        "dreamer_version": __version__,
    }


def _check_manifest(folder: Path, settings: dict[str, Any]) -> None:
    """Refuse to continue frames that were made with other settings."""
    path = folder / MANIFEST
    try:
        old = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise DreamerError(f"{path}: cannot read the settings of the frames there; delete it to start over") from None
    changed = [k for k in ("zoom", "rotate", "pan", "source") if old.get(k) != settings[k]]
    changed += [k for k, v in settings["config"].items() if old.get("config", {}).get(k) != v]
    if changed:
        raise DreamerError(
            f"{folder}: holds frames made with other settings ({', '.join(changed)}); "
            "use the same options, another frames folder, or delete it to start over"
        )


def recorded_seed(folder: Path) -> int | None:
    """The seed stored in a frames folder's manifest, if there is one."""
    try:
        return json.loads((folder / MANIFEST).read_text())["config"]["seed"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return None


def render_zoom(
    image: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    frames: int = 60,
    *,
    zoom: float = 1.04,
    rotate: float = 0.0,
    pan: tuple[float, float] = (0.0, 0.0),
    config: DreamConfig | None = None,
    dreamer: Dreamer | None = None,
    progress: bool = True,
    callback: FrameCallback | None = None,
    **options: Any,
) -> list[Path]:
    """Write zoom frames into ``folder`` as they finish, resuming after the last finished one.

    Returns the paths of frames 0 .. frames-1. The folder keeps the settings in ``zoom.json``;
    a resume without a seed reuses the recorded one, and other settings are refused.
    """
    config = (config or ZOOM_CONFIG).replace(**options)
    _check_motion(frames, zoom, rotate)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DreamerError(f"{folder}: is a file; the frames folder must be a directory")
    loaded = load_image(image)
    folder.mkdir(parents=True, exist_ok=True)
    has_manifest = (folder / MANIFEST).exists()
    done = finished_frames(folder)
    if config.seed is None:
        config = config.replace(seed=(recorded_seed(folder) if has_manifest else None) or secrets.randbits(63))
    settings = _settings(config, zoom, rotate, pan, Path(image).name)
    if has_manifest:
        _check_manifest(folder, settings)
    elif done:
        raise DreamerError(f"{folder}: holds frames but no {MANIFEST}; use an empty frames folder")
    else:
        atomic_write(folder / MANIFEST, lambda tmp: tmp.write_text(json.dumps(settings, indent=2, sort_keys=True)))
    done = done[:frames]
    first = loaded if not done else load_image(done[-1])
    for index, frame in enumerate(
        _zoom_frames(
            first,
            frames,
            zoom=zoom,
            rotate=rotate,
            pan=pan,
            config=config,
            dreamer=dreamer,
            start=len(done),
            progress=progress,
            callback=callback,
        ),
        len(done),
    ):
        # Each frame carries its settings, flat like a still's, so `dreamer info` and `--replay` read it.
        meta = {**settings["config"], **{k: v for k, v in settings.items() if k != "config"}, "frame": index}
        done.append(save_image(frame, folder / FRAME_NAME.format(index), metadata=meta))
    return done


def _write_gif(frames: list[Path], path: Path, fps: float) -> None:
    """An endlessly looping GIF through Pillow (GIF timing is in 10 ms units)."""
    images = [Image.open(p).convert("RGB") for p in frames]
    duration = max(20, round(100 / fps) * 10)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)


def _write_mp4(frames: list[Path], path: Path, fps: float) -> None:
    """An H.264 MP4 through imageio-ffmpeg (its wheel ships the ffmpeg binary)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise DreamerError(f"{path}: {MP4_NEEDS}") from None
    size = Image.open(frames[0]).size
    writer = imageio_ffmpeg.write_frames(
        str(path), size, fps=fps, codec="libx264", macro_block_size=2, output_params=["-f", "mp4"]
    )
    writer.send(None)  # start ffmpeg
    try:
        for p in frames:
            writer.send(np.ascontiguousarray(np.asarray(Image.open(p).convert("RGB"))))
    finally:
        writer.close()


def check_output(output: Path) -> str:
    """What ``-o`` asks for: "frames" (a folder), "gif" or "mp4"; checked before any frame is dreamed."""
    kind = output.suffix.lower()
    if output.is_dir() or not kind or str(output).endswith(("/", os.sep)):
        return "frames"
    if kind not in VIDEO_TYPES:
        raise DreamerError(
            f"{output}: unknown animation type {output.suffix!r} (use .gif, .mp4 or a folder for frames)"
        )
    if not output.parent.is_dir():
        raise DreamerError(f"{output}: output folder {output.parent} does not exist")
    if kind == ".mp4" and importlib.util.find_spec("imageio_ffmpeg") is None:
        raise DreamerError(f"{output}: {MP4_NEEDS}")
    return kind[1:]


def assemble(frames: list[Path], output: str | os.PathLike[str], fps: float = 24.0) -> Path:
    """Join frames into ``output`` by extension (.gif through Pillow, .mp4 through imageio-ffmpeg), atomically."""
    out = Path(output)
    kind = check_output(out)
    if kind == "frames":
        raise DreamerError(f"{out}: is a folder; give a .gif or .mp4 file to assemble into")
    if not frames:
        raise DreamerError(f"{out}: no frames to assemble")
    if not (fps > 0 and math.isfinite(fps)):
        raise DreamerError(f"--fps must be a positive number (got {fps!r})")
    write = _write_gif if kind == "gif" else _write_mp4
    try:
        atomic_write(out, lambda tmp: write(frames, tmp, fps))
    except OSError as exc:
        raise DreamerError(f"{out}: cannot write ({exc.strerror or exc})") from None
    return out
