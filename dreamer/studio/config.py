"""What a studio server is allowed to do and how big its quick previews are: fixed when it starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dreamer.spec.live import LiveSpec
from dreamer.spec.presets import STUDIO_ZOOM, THUMB_SPEC
from dreamer.spec.profiles import profile
from dreamer.spec.specs import DEFAULT_MODEL, DreamSpec, MotionSpec, VisSpec

BUNDLED_MODELS = (DEFAULT_MODEL,)  # ship their weights: selectable without downloading anything


@dataclass(frozen=True)
class StudioConfig:
    """Server-wide settings: which models the page may pick, where thumbnails are cached, preview sizes."""

    allow_downloads: bool = False  # let the page pick torchvision models (their weights download on first use)
    cache: Path | None = None  # thumbnail cache; None = the user's cache dir (see outputs.cache.cache_dir)
    dream_base: DreamSpec = profile("studio-dream").defaults(DreamSpec)
    thumb_spec: VisSpec = THUMB_SPEC
    vis_base: VisSpec = profile("studio-grid").defaults(VisSpec)
    zoom_spec: DreamSpec = STUDIO_ZOOM
    zoom_motion: MotionSpec = profile("studio-zoom").defaults(MotionSpec)
    max_frames: int = 48  # the zoom tab is a preview; `dreamer zoom` makes long ones
    max_upload: str = "25mb"  # per uploaded file; decoded pixels are limited by load_image (DREAMER_MAX_PIXELS)
    preview_steps: int = 5  # a preview every this many steps of the largest octave (and each octave's last)
    live_spec: LiveSpec = profile("studio-live").defaults(LiveSpec)
    live_base: DreamSpec = profile("studio-live").defaults(DreamSpec)
    # Torch threads for live frames; 0: all but one, since the camera's browser encodes frames on the same
    # cores, and on 2 cores torch's two threads stall whenever one is taken (bench/live.py --threads).
    live_threads: int = 0
    live_style: str | None = None  # the Live tab's style to start with
    tab: str = "dream"  # the tab the page opens on: dream, grid, maps, zoom or live (`dreamer live`)

    def models(self) -> list[str]:
        """The model names the page offers."""
        if not self.allow_downloads:
            return list(BUNDLED_MODELS)
        from dreamer.nets.registry import list_models

        return list(dict.fromkeys([*BUNDLED_MODELS, *list_models()]))
