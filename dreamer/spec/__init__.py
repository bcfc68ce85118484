"""Every knob, declared once (``specs``), checked once (``schema``) and resolved once (``resolve``)."""

from dreamer.spec.resolve import Source, resolve
from dreamer.spec.schema import Kind, Knob, knob, knobs
from dreamer.spec.specs import ZOOM_SPEC, DreamSpec, MotionSpec, RunEnv, VisSpec

__all__ = [
    "ZOOM_SPEC",
    "DreamSpec",
    "Kind",
    "Knob",
    "MotionSpec",
    "RunEnv",
    "Source",
    "VisSpec",
    "knob",
    "knobs",
    "resolve",
]
