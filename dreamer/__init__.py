"""dreamer: DeepDream and feature visualisation for artists, teachers and learners.

``import dreamer`` is cheap: torch and the models load on first use of the API.
"""

from __future__ import annotations

import importlib
from typing import Any

from dreamer.version import DISTRIBUTION, __version__

# public name -> module that defines it (imported on first access, so `dreamer --help` stays fast)
_EXPORTS = {
    "Engine": "dreamer.engine.engine",
    "CancelToken": "dreamer.engine.events",
    "DreamSpec": "dreamer.spec.specs",
    "VisSpec": "dreamer.spec.specs",
    "RunEnv": "dreamer.spec.specs",
    "MotionSpec": "dreamer.spec.specs",
    "dream": "dreamer.api",
    "visualize": "dreamer.api",
    "grid": "dreamer.api",
    "maps": "dreamer.api",
    "atlas": "dreamer.api",
    "AtlasSpec": "dreamer.spec.atlas",
    "layers": "dreamer.api",
    "accent": "dreamer.api",
    "caricature": "dreamer.api",
    "save_dream": "dreamer.outputs.images",
    "DreamerError": "dreamer.errors",
    "DreamerWarning": "dreamer.errors",
    "Cancelled": "dreamer.errors",
    "get_model": "dreamer.nets.registry",
    "list_models": "dreamer.nets.registry",
    "DreamModel": "dreamer.nets.wrapper",
    "LayerHooks": "dreamer.nets.hooks",
    "fold_batchnorm": "dreamer.nets.fold",
    "keep_freed_memory": "dreamer.runners.heap",
    "Objective": "dreamer.core.objectives",
    "layer": "dreamer.core.objectives",
    "channel": "dreamer.core.objectives",
    "neuron": "dreamer.core.objectives",
    "class_logit": "dreamer.core.objectives",
    "guide": "dreamer.core.objectives",
    "per_image": "dreamer.core.objectives",
    "load_image": "dreamer.outputs.images",
    "read_metadata": "dreamer.outputs.metadata",
    "sample_path": "dreamer.samples",
    "sample_names": "dreamer.samples",
    "zoom": "dreamer.animate.zoom",
    "render_zoom": "dreamer.animate.zoom",
    "assemble": "dreamer.outputs.animation",
    "gallery": "dreamer.runners.gallery",
    "dream_video": "dreamer.video.run",
    "VideoSpec": "dreamer.spec.video",
    "live": "dreamer.api",
    "LiveSpec": "dreamer.spec.live",
    "LiveFrame": "dreamer.mirror.loop",
    "Mirror": "dreamer.mirror.loop",
    "LessonSpec": "dreamer.spec.lesson",
    "lesson": "dreamer.lecture.lesson",
    "sweep": "dreamer.lecture.sweep",
}

__all__ = ["DISTRIBUTION", "__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import the defining module on first access of a public name."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'dreamer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
