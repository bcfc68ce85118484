"""Every knob of ``dreamer live``, declared once with the schema's ``knob()`` (help, range, default).

The camera's feedback loop: what a frame carries of the last dream (``mood`` and its shares), when a
pixel counts as moving, and the frame rate adaptive quality holds. Each frame's dream itself is a
``DreamSpec`` (``LIVE_SPEC`` by default: one octave, two steps, 256 px): its ``steps`` are the steps per
frame and its ``max_side`` the work size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dreamer.spec.schema import knob
from dreamer.spec.specs import DreamSpec, Spec

MOODS = ("flow", "deepen")
# What each live frame costs: set by the live controls, never by a style (a still's 4 x 10 steps would stall it).
FRAME_BUDGET = ("octaves", "steps", "max_side", "resize_back")


@dataclass(frozen=True)
class LiveSpec(Spec):
    """How the camera's frames are dreamed one after another (each frame's dream is a DreamSpec)."""

    mood: str = knob(
        "flow",
        "flow: the dream follows the motion at a steady depth; deepen: it grows deeper wherever the scene is "
        "still and melts back to the camera where something moves.",
        choices=MOODS,
        group="live",
    )
    carry: float = knob(
        0.8,
        "flow: share of the last dream's detail carried onto the new frame, 0-1 (higher: deeper and steadier; "
        "lower: closer to the camera).",
        lo=0.0,
        hi=1.0,
        group="live",
    )
    hold: float = knob(
        0.97,
        "deepen: share of the last dream's detail kept where the scene is still (near 1: it keeps deepening).",
        lo=0.0,
        hi=1.0,
        group="live",
    )
    melt: float = knob(
        0.2,
        "deepen: share kept where the scene moves (low: the dream melts back to the camera there).",
        lo=0.0,
        hi=1.0,
        group="live",
    )
    motion: float = knob(
        1.0,
        "deepen: optical flow, in pixels per frame at the work size, at which a pixel counts as moving.",
        lo=0.0,
        lo_open=True,
        hi=1000.0,
        group="live",
    )
    target_fps: float = knob(
        10.0,
        "Frames per second to hold: when the machine is slower, fewer steps per frame first, then a smaller "
        "size; 0 = never adapt.",
        lo=0.0,
        hi=240.0,
        group="live",
    )


def live_look(style: Mapping[str, Any], base: DreamSpec) -> DreamSpec:
    """``base`` with a style's settings (``Style.settings``) on top, except what a frame costs (``FRAME_BUDGET``)."""
    return base.replace(**{k: v for k, v in style.items() if k not in FRAME_BUDGET})
