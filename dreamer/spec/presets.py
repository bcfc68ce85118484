"""The presets: specs with some defaults changed for one command or page, each written once.

A command's profile (``dreamer.spec.profiles``) names the preset its options default to.
"""

from __future__ import annotations

from dreamer.spec.lesson import LessonSpec
from dreamer.spec.specs import DreamSpec, MotionSpec, VisSpec

# Lighter than a still: each zoom frame (and a video's first frame) adds a little dream on top of the last one.
# Frames stay at the work size (--max-side): each is dreamed from the last, so none goes back to the input's size.
ZOOM_SPEC = DreamSpec(octaves=3, steps=5, step_size=0.012, max_side=320, resize_back=False)
VIDEO_SPEC = ZOOM_SPEC
# Each camera frame: one octave of two steps at 256 px (the frames carry the dream, so it builds up over time).
LIVE_SPEC = DreamSpec(octaves=1, steps=2, step_size=0.02, jitter=16, max_side=256, resize_back=False)
SWEEP_SPEC = DreamSpec(max_side=512)  # one dream per layer: a smaller work size than render's
ACCENT_SPEC = VisSpec(size=224)  # the photo's longer side: enough to see what changed, a minute on a CPU
CARICATURE_SPEC = VisSpec(size=192, param="fourier")  # Fourier kept closer to the photo than maco (bench/caricature.py)
LESSON_VIS = LessonSpec().vis()
THUMB_SPEC = VisSpec(size=64, steps=64, seed=0)  # the studio's layer thumbnails: a hint of what a layer sees
# The studio's quick previews.
STUDIO_VIS = VisSpec(size=96, steps=128)
STUDIO_ZOOM = ZOOM_SPEC.replace(max_side=256)
STUDIO_MOTION = MotionSpec(frames=12, zoom=1.05, fps=12.0)
