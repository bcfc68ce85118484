"""The live camera's feedback loop: each frame starts from the last dream carried along the motion.

For each camera frame: the optical flow from it back to the previous camera frame carries the last
dream's detail (dream - camera) onto it, scaled by a share (the mood's), and a few ascent steps dream
on from there. The camera's content is always fresh; only the dream's detail is carried, and the share
below 1 is what keeps it from piling up (flow: a steady depth of about share / (1 - share) frames of
steps; deepen: near 1 where still, so it keeps growing, low where it moves, so it melts away).
``Mirror`` keeps that state for a stream whose settings may change between frames (the studio);
``live`` runs it over any iterable of frames.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from dreamer.core import flow as fl
from dreamer.engine.engine import Engine
from dreamer.engine.events import CancelToken
from dreamer.engine.seeds import draw_seed, frame_seed
from dreamer.errors import Cancelled, DreamerError
from dreamer.mirror.adapt import Governor
from dreamer.outputs.imagelike import ImageLike, as_loaded
from dreamer.outputs.images import fit_max_side
from dreamer.spec.live import LiveSpec
from dreamer.spec.presets import LIVE_SPEC
from dreamer.spec.specs import DreamSpec

MOTION_BLUR = 2.0  # Gaussian sigma (pixels) over the flow's speed: moving regions, not single noisy pixels


@dataclass(frozen=True)
class LiveFrame:
    """One dreamed frame and how it was made."""

    image: np.ndarray  # (H, W, 3) uint8 RGB at the work size: the dream at the asked strength
    index: int  # frames dreamed so far in this stream, before this one
    seconds: float  # this frame's work: reading it, the flow, the dream
    flow_seconds: float  # of which optical flow and warping
    steps: int  # the steps it got (adaptive quality may give fewer than asked)
    size: tuple[int, int]  # (width, height) it was dreamed at
    moving: float  # share of the frame that moved since the last one (flow over the mood's ``motion``)
    depth: float  # RMS of the dream's detail (dream - camera), 0-1 pixel units
    note: str | None  # what adaptive quality is doing, when it gives fewer steps or a smaller size

    def pil(self) -> Image.Image:
        """The frame as a PIL image."""
        return Image.fromarray(self.image)


def camera_frame(frame: ImageLike, side: int) -> np.ndarray:
    """Any image-like frame -> (H, W, 3) uint8 RGB with its longer side scaled down to ``side``."""
    rgb = as_loaded(frame, "frame").rgb
    size = fit_max_side(rgb.size, side)
    if size != rgb.size:
        rgb = rgb.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(rgb)


def _checked(dream: DreamSpec) -> DreamSpec:
    """Refuse what a live frame cannot take: files read again for every frame."""
    for name in ("mask", "guide"):
        if getattr(dream, name):
            raise DreamerError(f"`{name}`: live frames take no {name} image (it would be read every frame)", field=name)
    return dream


class Mirror:
    """A stream's feedback state: the last camera frame and its dream, and adaptive quality's levels.

    ``step`` takes the settings for each frame, so they can change between frames without a restart.
    """

    def __init__(self, engine: Engine, seed: int | None = None) -> None:
        self.engine = engine
        self.seed = draw_seed() if seed is None else seed
        self.governor = Governor()
        self.reset()

    def reset(self) -> None:
        """Forget the last frame: the next one starts a fresh dream (a new stream)."""
        self.index = 0
        self._camera: np.ndarray | None = None  # (H, W, 3) float [0, 1]
        self._dream: np.ndarray | None = None  # its full-strength dream, same shape

    def _carried(self, cam8: np.ndarray, spec: LiveSpec) -> tuple[np.ndarray, float]:
        """The start of this frame's dream, (H, W, 3) float, and the share of the frame that moved."""
        cam = cam8.astype(np.float32) / 255.0
        if self._camera is None or self._dream is None:
            return cam, 0.0
        prev, dream = self._camera, self._dream
        cv2 = fl.load_cv2()
        if prev.shape != cam.shape:  # the size changed (a control, adaptive quality): carry at the new size
            prev, dream = (cv2.resize(a, cam.shape[1::-1], interpolation=cv2.INTER_AREA) for a in (prev, dream))
        back = fl.flow(fl.gray(cam8), fl.gray(prev))  # new -> old: where each pixel of this frame was
        detail = fl.warp(dream - prev, back)
        speed = cv2.GaussianBlur(np.sqrt((back**2).sum(-1)), (0, 0), MOTION_BLUR)
        if spec.mood == "deepen":
            still = np.exp(-((speed / spec.motion) ** 2))[..., None]
            share: np.ndarray | float = spec.melt + (spec.hold - spec.melt) * still
        else:
            share = spec.carry
        return np.clip(cam + share * detail, 0.0, 1.0), float((speed > spec.motion).mean())

    def step(self, frame: ImageLike, spec: LiveSpec, dream: DreamSpec, cancel: CancelToken | None = None) -> LiveFrame:
        """Dream the next camera frame: carry the last dream along the motion onto it, then a few steps."""
        t0 = time.perf_counter()
        dream = _checked(dream)
        steps, side = self.governor.budget(dream.steps, dream.max_side, spec.target_fps)
        cam8 = camera_frame(frame, side)
        start, moving = self._carried(cam8, spec)
        flow_seconds = time.perf_counter() - t0
        seed = frame_seed(dream.seed if dream.seed is not None else self.seed, self.index)
        frame_spec = dream.replace(steps=steps, max_side=side, strength=1.0, seed=seed)
        x = torch.from_numpy(np.ascontiguousarray(start)).permute(2, 0, 1)[None]
        out = self.engine.dream_frame(x, frame_spec, cancel=cancel)[0].permute(1, 2, 0).numpy()
        cam = cam8.astype(np.float32) / 255.0
        shown = cam + dream.strength * (out - cam)  # the strength is the view's; the loop keeps the full dream
        self._camera, self._dream = cam, out
        index, self.index = self.index, self.index + 1
        seconds = time.perf_counter() - t0
        self.governor.record(seconds)
        return LiveFrame(
            image=np.clip(shown * 255.0 + 0.5, 0, 255).astype(np.uint8),
            index=index,
            seconds=seconds,
            flow_seconds=flow_seconds,
            steps=steps,
            size=(cam8.shape[1], cam8.shape[0]),
            moving=moving,
            depth=float(np.sqrt(np.mean(np.square(out - cam, dtype=np.float64)))),
            note=self.governor.note(),
        )


def live(
    frames: Iterable[ImageLike],
    spec: LiveSpec | None = None,
    dream: DreamSpec | None = None,
    *,
    engine: Engine | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[LiveFrame]:
    """Dream a stream of frames (a camera, a video's frames, a list of images) as they come, one out per frame in.

    Each frame starts from the last dream carried along the optical flow (``spec``: the mood, the
    shares, the frame rate to hold); ``dream`` is each frame's short dream (default ``LIVE_SPEC``).
    The stream ends with ``frames`` or when ``cancel`` is asked (within one ascent step).
    """
    spec = spec or LiveSpec()
    engine = engine or Engine()
    plan = engine.plan(engine.resolved(_checked(dream or LIVE_SPEC)))  # one model and one seed for the stream
    mirror = Mirror(engine, plan.seed)
    for frame in frames:
        if cancel is not None and cancel.cancelled:
            return
        try:
            yield mirror.step(frame, spec, plan.spec, cancel)
        except Cancelled:
            return
