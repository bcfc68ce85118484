"""Every knob of ``dreamer video``, declared once with the schema's ``knob()`` (help, range, default).

The CLI builds its options from these fields (through the ``video`` profile, ``dreamer.spec.profiles``);
the dream itself is a ``DreamSpec`` (``VIDEO_SPEC`` by default: the zoom's light still).
"""

from __future__ import annotations

from dataclasses import dataclass

from dreamer.spec.schema import knob
from dreamer.spec.specs import DreamSpec, Spec

MODES = ("flow", "blend", "frames")
FLOWS = ("dis", "farneback")


@dataclass(frozen=True)
class VideoSpec(Spec):
    """How a video is dreamed frame to frame (the dream itself is a DreamSpec)."""

    mode: str = knob(
        "flow",
        "flow: warp the last dream's detail along the optical flow onto the new frame, fresh where occluded "
        "(coherent, follows the motion); blend: mix the last dream into the new frame (the common naive fix: "
        "steady but smears motion); frames: every frame dreamed on its own (flickers).",
        choices=MODES,
        group="video",
    )
    flow: str = knob(
        "dis",
        "Optical flow between input frames: dis (OpenCV DIS, fast) or farneback (OpenCV, smoother, slower).",
        choices=FLOWS,
        group="video",
    )
    blend: float = knob(
        0.9,
        "How much of the last dream carries into the next frame, 0-1: higher is steadier and more "
        "cumulative, lower dreams each frame more afresh (flow: share of the warped detail; blend: weight "
        "of the last dream).",
        lo=0.0,
        hi=1.0,
        group="video",
    )
    occlusion: float = knob(
        1.0,
        "Forward-backward flow mismatch in pixels above which a pixel counts as occluded and is dreamed "
        "fresh: lower re-dreams more around moving edges, higher carries more (and smears more).",
        lo=0.0,
        hi=1000.0,
        group="video",
    )
    detail_cap: float = knob(
        1.0,
        "Cap the carried detail's RMS at this multiple of the first frame's, so still scenes do not "
        "brighten and overcook frame after frame; 0 = no cap.",
        lo=0.0,
        hi=100.0,
        group="video",
    )
    frame_octaves: int = knob(
        1,
        "Octaves of the short dream of each frame after the first (the first gets the full dream).",
        lo=1,
        hi=32,
        quick=1,
    )
    frame_steps: int = knob(
        2,
        "Steps per octave of the short dream of each frame after the first: more = stronger, slower.",
        lo=0,
        hi=1000,
        quick=1,
    )
    fps: float | None = knob(
        None, "Output frame rate; frames are picked by time.", lo=0.0, lo_open=True, hi=1000.0, show="the input's"
    )
    start: float = knob(0.0, "Dream from this time in the input, seconds.", lo=0.0, hi=1e7)
    duration: float | None = knob(
        None, "Dream this many seconds.", lo=0.0, lo_open=True, hi=1e7, show="to the end", quick=1.0
    )

    score_frames: int = knob(
        8,
        "Frames dreamed frame by frame (each its own full dream, not written) to compare the video's "
        "temporal consistency against, printed at the end ('3.1x steadier than frame by frame'); 0 = none.",
        lo=0,
        hi=1000,
        quick=2,
    )
    warmup: int = knob(
        8,
        "Chunked runs (--workers over 1): frames each chunk after the first starts early, dreamed and dropped, "
        "so its dream has built up at its first kept frame.",
        lo=0,
        hi=1000,
        group="video",
    )
    overlap: int = knob(
        3,
        "Chunked runs: frames at each chunk border where the two chunks' dreams of the same frames are "
        "cross-faded (at most --warmup).",
        lo=0,
        hi=1000,
        group="video",
    )

    def frame_spec(self, spec: DreamSpec) -> DreamSpec:
        """The short dream of a frame after the first."""
        return spec.replace(octaves=self.frame_octaves, steps=self.frame_steps)
