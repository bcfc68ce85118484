"""Every knob, declared once (``specs``), checked once (``schema``) and resolved once (``resolve``).

Which command takes which knobs, with which defaults, is each command's profile (``profiles``).
"""

from dreamer.spec.lesson import LessonSpec
from dreamer.spec.live import LiveSpec
from dreamer.spec.presets import LIVE_SPEC, VIDEO_SPEC, ZOOM_SPEC
from dreamer.spec.profiles import PROFILES, Part, Profile, profile
from dreamer.spec.resolve import Source, resolve
from dreamer.spec.schema import Kind, Knob, knob, knobs
from dreamer.spec.specs import DreamSpec, MotionSpec, RunEnv, VisSpec
from dreamer.spec.video import VideoSpec

__all__ = [
    "LIVE_SPEC",
    "PROFILES",
    "VIDEO_SPEC",
    "ZOOM_SPEC",
    "DreamSpec",
    "Kind",
    "Knob",
    "LessonSpec",
    "LiveSpec",
    "MotionSpec",
    "Part",
    "Profile",
    "RunEnv",
    "Source",
    "VideoSpec",
    "VisSpec",
    "knob",
    "knobs",
    "profile",
    "resolve",
]
