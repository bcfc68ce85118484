"""Every knob of ``dreamer video``: one frozen dataclass whose field metadata carries help, range and kind.

The CLI builds its options from these fields, so a knob is declared once. ``kind`` is ``look`` (changes
the frames, so a resume must match it) or ``io`` (which part of the input, how it is written).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from dreamer.errors import DreamerError
from dreamer.spec.config import DreamConfig

MODES = ("flow", "blend", "frames")
FLOWS = ("dis", "farneback")

# The first frame (and every frame in "frames" mode) gets this dream: the zoom's light still.
VIDEO_CONFIG = DreamConfig(octaves=3, steps=5, step_size=0.012, max_side=320)


def _knob(default: Any, help: str, kind: str = "look", **check: Any) -> Any:
    """A dataclass field whose metadata says what it does; ``check`` holds ``choices`` or ``low``/``high``."""
    return field(default=default, metadata={"help": help, "default": default, "kind": kind, **check})


@dataclass(frozen=True)
class VideoSpec:
    """How a video is dreamed frame to frame (the dream itself is a DreamConfig)."""

    mode: str = _knob(
        "flow",
        "flow: warp the last dream's detail along the optical flow onto the new frame, fresh where occluded "
        "(coherent, follows the motion); blend: mix the last dream into the new frame (the common naive fix: "
        "steady but smears motion); frames: every frame dreamed on its own (flickers).",
        choices=MODES,
    )
    flow: str = _knob(
        "dis",
        "Optical flow between input frames: dis (OpenCV DIS, fast) or farneback (OpenCV, smoother, slower).",
        choices=FLOWS,
    )
    blend: float = _knob(
        0.9,
        "How much of the last dream carries into the next frame, 0-1: higher is steadier and more "
        "cumulative, lower dreams each frame more afresh (flow: share of the warped detail; blend: weight "
        "of the last dream).",
        low=0.0,
        high=1.0,
    )
    occlusion: float = _knob(
        1.0,
        "Forward-backward flow mismatch in pixels above which a pixel counts as occluded and is dreamed "
        "fresh: lower re-dreams more around moving edges, higher carries more (and smears more).",
        low=0.0,
    )
    detail_cap: float = _knob(
        1.0,
        "Cap the carried detail's RMS at this multiple of the first frame's, so still scenes do not "
        "brighten and overcook frame after frame; 0 = no cap.",
        low=0.0,
    )
    frame_octaves: int = _knob(
        1, "Octaves of the short dream of each frame after the first (the first gets the full dream).", low=1
    )
    frame_steps: int = _knob(
        2, "Steps per octave of the short dream of each frame after the first: more = stronger, slower.", low=0
    )
    fps: float | None = _knob(None, "Output frame rate; frames are picked by time. [default: the input's]", "io", low=0)
    start: float = _knob(0.0, "Dream from this time in the input, seconds.", "io", low=0.0)
    duration: float | None = _knob(None, "Dream this many seconds. [default: to the end]", "io", low=0)

    def __post_init__(self) -> None:
        """Reject values no video can use, naming the option."""
        for f in dataclasses.fields(self):
            value, meta, name = getattr(self, f.name), f.metadata, f.name.replace("_", "-")
            if value is None:
                continue
            if "choices" in meta and value not in meta["choices"]:
                raise DreamerError(f"--{name} must be one of {', '.join(meta['choices'])} (got {value!r})")
            if isinstance(value, float) and not math.isfinite(value):
                raise DreamerError(f"--{name} must be a finite number (got {value!r})")
            low, high = meta.get("low"), meta.get("high")
            if low is not None and (value < low or (value == low and name in ("fps", "duration"))):
                rule = "positive" if name in ("fps", "duration") else f"at least {low}"
                raise DreamerError(f"--{name} must be {rule} (got {value!r})")
            if high is not None and value > high:
                raise DreamerError(f"--{name} must be between {low} and {high} (got {value!r})")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every knob."""
        return dataclasses.asdict(self)

    def look(self) -> dict[str, Any]:
        """The knobs the frames depend on (what a resume must match)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata["kind"] == "look"}

    def replace(self, **changes: Any) -> VideoSpec:
        """A copy with some knobs changed."""
        return dataclasses.replace(self, **changes)

    def frame_config(self, config: DreamConfig) -> DreamConfig:
        """The short dream of a frame after the first."""
        return config.replace(octaves=self.frame_octaves, steps=self.frame_steps)
