"""Clips of known motion made from a photo: a camera panning and zooming over it, and an object crossing it.

For tests, the benchmark and the gallery: no downloads, and the true motion between frames is known, so
flicker can be measured along it (``Clip.motion``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from dreamer.core.flow import load_cv2


@dataclass(frozen=True)
class Clip:
    """A written clip: its frames and the affine (2, 3) taking frame i-1's pixels to frame i's, per frame."""

    path: Path
    frames: list[np.ndarray]  # (H, W, 3) uint8 RGB, as written
    motion: list[np.ndarray]  # motion[i] maps frame i-1 -> i (motion[0] is the identity)
    boxes: list[tuple[int, int, int, int]]  # the moving object's (x0, y0, x1, y1) in each frame, or empty


def _camera(center: np.ndarray, scale: float, size: tuple[int, int]) -> np.ndarray:
    """The affine source -> frame of a camera looking at ``center`` with magnification ``scale``."""
    w, h = size
    return np.array([[scale, 0, w / 2 - scale * center[0]], [0, scale, h / 2 - scale * center[1]]], np.float64)


def _compose(a: np.ndarray, b_inv: np.ndarray) -> np.ndarray:
    """The affine ``a`` after ``b_inv`` (2x3 each)."""
    a3, b3 = np.vstack([a, [0, 0, 1]]), np.vstack([b_inv, [0, 0, 1]])
    return (a3 @ b3)[:2]


def motion_frames(
    photo: str | os.PathLike[str],
    frames: int,
    size: tuple[int, int] = (160, 112),
    *,
    pan: tuple[float, float] = (2.0, 0.0),
    zoom: float = 1.0,
    scale: float = 0.5,
    object_speed: tuple[float, float] = (0.0, 0.0),
) -> tuple[list[np.ndarray], list[np.ndarray], list[tuple[int, int, int, int]]]:
    """Frames of a camera over ``photo`` moving ``pan`` source pixels and zooming ``zoom`` per frame.

    ``scale`` is the first frame's magnification; an object (a disc cut from the photo's other side)
    crosses the frame at ``object_speed`` pixels per frame when that is not (0, 0).
    """
    cv2 = load_cv2()
    src = np.asarray(Image.open(photo).convert("RGB"))
    w, h = size
    center = np.array([src.shape[1] / 2 - pan[0] * frames / 2, src.shape[0] / 2 - pan[1] * frames / 2])
    disc = cv2.resize(src[::-1, ::-1], (h // 3, h // 3), interpolation=cv2.INTER_AREA)
    yy, xx = np.mgrid[0 : h // 3, 0 : h // 3]
    inside = (xx - h / 6) ** 2 + (yy - h / 6) ** 2 <= (h / 6) ** 2
    out, motion, boxes, last = [], [], [], None
    for i in range(frames):
        cam = _camera(center + np.array(pan) * i, scale * zoom**i, size)
        frame = cv2.warpAffine(src, cam, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        box: tuple[int, int, int, int] = (0, 0, 0, 0)
        if object_speed != (0.0, 0.0):
            x0 = int(round(w / 8 + object_speed[0] * i))
            y0 = int(round(h / 3 + object_speed[1] * i))
            x1, y1 = min(x0 + h // 3, w), min(y0 + h // 3, h)
            if x0 < w and y0 < h:
                region = frame[y0:y1, x0:x1]
                keep = inside[: y1 - y0, : x1 - x0]
                region[keep] = disc[: y1 - y0, : x1 - x0][keep]
                box = (x0, y0, x1, y1)
        inv = cv2.invertAffineTransform(cam)
        motion.append(np.array([[1, 0, 0], [0, 1, 0]], np.float64) if last is None else _compose(cam, last))
        last = inv
        out.append(frame)
        boxes.append(box)
    return out, motion, boxes


def write_clip(frames: list[np.ndarray], path: str | os.PathLike[str], fps: float = 12.0) -> Path:
    """Write RGB frames as an H.264 MP4 (near-lossless, so tests see what they made) through PyAV."""
    import av

    path = Path(path)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as box:
        stream = box.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "4", "preset": "veryfast"}
        for arr in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
    return path


def motion_clip(photo: str | os.PathLike[str], path: str | os.PathLike[str], frames: int, **kwargs: object) -> Clip:
    """Make and write a clip of known motion (``motion_frames``' keywords, plus ``fps``)."""
    fps = float(kwargs.pop("fps", 12.0))  # type: ignore[arg-type]
    images, motion, boxes = motion_frames(photo, frames, **kwargs)  # type: ignore[arg-type]
    return Clip(write_clip(images, path, fps), images, motion, boxes)
