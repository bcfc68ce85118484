"""dreamer: DeepDream and feature visualisation for artists, teachers and learners.

``import dreamer`` is cheap: torch and the models load on first use of the API.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access, so `dreamer --help` stays fast)
_EXPORTS = {
    "Dreamer": "dreamer.render",
    "dream": "dreamer.render",
    "save_dream": "dreamer.render",
    "DreamConfig": "dreamer.config",
    "DreamerError": "dreamer.errors",
    "DreamerWarning": "dreamer.errors",
    "get_model": "dreamer.models",
    "list_models": "dreamer.models",
    "DreamModel": "dreamer.models",
    "LayerHooks": "dreamer.hooks",
    "fold_batchnorm": "dreamer.speed",
    "keep_freed_memory": "dreamer.heap",
    "Objective": "dreamer.objectives",
    "layer": "dreamer.objectives",
    "channel": "dreamer.objectives",
    "neuron": "dreamer.objectives",
    "class_logit": "dreamer.objectives",
    "guide": "dreamer.objectives",
    "per_image": "dreamer.objectives",
    "VisConfig": "dreamer.config",
    "visualize": "dreamer.featvis.render",
    "grid": "dreamer.featvis.render",
    "maps": "dreamer.featvis.maps",
    "load_image": "dreamer.images",
    "read_metadata": "dreamer.images",
    "sample_path": "dreamer.samples",
    "sample_names": "dreamer.samples",
    "zoom": "dreamer.animate",
    "render_zoom": "dreamer.animate",
    "assemble": "dreamer.animate",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import the defining module on first access of a public name."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'dreamer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
