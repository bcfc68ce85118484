"""Which knobs each command takes: a profile per command (and per studio tab), declared once.

A profile lists the spec classes a command's options come from, the preset each defaults to and the
knobs it leaves out. The CLI's options (``dreamer.cli.options.profile_options``), the studio's forms
(``dreamer.studio.forms.controls``) and the schema test's command table are all made from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dreamer.spec.atlas import ATLAS_VIS, AtlasSpec
from dreamer.spec.lesson import LessonSpec
from dreamer.spec.live import LiveSpec
from dreamer.spec.presets import (
    ACCENT_SPEC,
    CARICATURE_SPEC,
    LIVE_SPEC,
    STUDIO_MOTION,
    STUDIO_VIS,
    SWEEP_SPEC,
    VIDEO_SPEC,
    ZOOM_SPEC,
)
from dreamer.spec.schema import knobs
from dreamer.spec.specs import DreamSpec, MotionSpec, RunEnv, VisSpec
from dreamer.spec.video import VideoSpec

# Visualisations run untiled: the tile size is a dream's.
NO_TILE = ("tile",)
# Animation frames are written at the work size (--max-side), never resized back (see ZOOM_SPEC).
FRAMES_AT_WORK_SIZE = ("resize_back",)
# A live frame's look: the layer, how strong, how many steps at what size (the rest comes from the style).
LIVE_LOOK = ("layers", "steps", "step_size", "strength", "keep_colors", "max_side")
# Only accentuation keeps the photo close: the other visualisations start from noise.
ACCENT_ONLY = ("accent_layer", "accent_weight")
# Only a caricature matches a photo's activations; it makes one image, with no diversity or transparency.
CARICATURE_ONLY = ("caricature_layers", "caricature_power")
NOT_CARICATURE = (*ACCENT_ONLY, "diversity", "diversity_weight", "diversity_layer", "alpha", "batch")
# Accentuation optimises the photo's own pixels, one image: no parametrisation, crops, batch or diversity.
NOT_ACCENT = (
    "param",
    "spectrum",
    "crops",
    "crop_min",
    "crop_max",
    "crop_noise",
    "diversity",
    "diversity_weight",
    "diversity_layer",
    "alpha",
    "batch",
    *CARICATURE_ONLY,
)
# An atlas cell is one opaque picture of one direction: no diversity, transparency or accentuation.
NOT_ATLAS = (*ACCENT_ONLY, *CARICATURE_ONLY, "diversity", "diversity_weight", "diversity_layer", "alpha")


@dataclass(frozen=True)
class Part:
    """One spec class of a command: the preset its knobs default to and the knobs it leaves out."""

    cls: type
    preset: Any = None  # an instance of ``cls``; None: the class's own defaults
    exclude: tuple[str, ...] = ()
    only: tuple[str, ...] = ()  # when given: just these knobs

    @property
    def defaults(self) -> Any:
        """The values the command starts from."""
        return self.preset if self.preset is not None else self.cls()

    def names(self) -> list[str]:
        """The knobs the command takes from this class, in declaration order."""
        return [name for name in knobs(self.cls) if name not in self.exclude and name in (self.only or (name,))]


@dataclass(frozen=True)
class Profile:
    """A command's knob set: its parts, in the order their options are listed."""

    name: str
    parts: tuple[Part, ...]
    command: bool = True  # False: a studio tab's form, no CLI command

    def part(self, cls: type) -> Part:
        """The part holding ``cls``'s knobs."""
        for part in self.parts:
            if part.cls is cls:
                return part
        raise KeyError(f"profile {self.name!r} takes no {cls.__name__}")

    def defaults(self, cls: type) -> Any:
        """What ``cls``'s knobs default to in this command."""
        return self.part(cls).defaults


def _table(*profiles: Profile) -> dict[str, Profile]:
    return {p.name: p for p in profiles}


PROFILES = _table(
    Profile("render", (Part(DreamSpec), Part(RunEnv))),
    Profile("gallery", (Part(DreamSpec), Part(RunEnv))),
    Profile("sweep", (Part(DreamSpec, SWEEP_SPEC), Part(RunEnv))),
    Profile("zoom", (Part(MotionSpec), Part(DreamSpec, ZOOM_SPEC, exclude=FRAMES_AT_WORK_SIZE), Part(RunEnv))),
    Profile("video", (Part(VideoSpec), Part(DreamSpec, VIDEO_SPEC, exclude=FRAMES_AT_WORK_SIZE), Part(RunEnv))),
    Profile("live", (Part(LiveSpec), Part(DreamSpec, LIVE_SPEC, only=LIVE_LOOK), Part(RunEnv))),
    Profile("grid", (Part(VisSpec, exclude=ACCENT_ONLY + CARICATURE_ONLY), Part(RunEnv, exclude=NO_TILE))),
    Profile("maps", (Part(VisSpec, exclude=ACCENT_ONLY + CARICATURE_ONLY), Part(RunEnv, exclude=NO_TILE))),
    Profile("accent", (Part(VisSpec, ACCENT_SPEC, exclude=NOT_ACCENT), Part(RunEnv, exclude=NO_TILE))),
    Profile("caricature", (Part(VisSpec, CARICATURE_SPEC, exclude=NOT_CARICATURE), Part(RunEnv, exclude=NO_TILE))),
    Profile("lesson", (Part(LessonSpec), Part(RunEnv))),
    Profile("atlas", (Part(AtlasSpec), Part(VisSpec, ATLAS_VIS, exclude=NOT_ATLAS), Part(RunEnv, exclude=NO_TILE))),
    Profile("layers", (Part(DreamSpec, only=("model", "weights")),)),
    Profile("studio", (Part(RunEnv),)),
    # The studio's tabs: forms of look and file knobs (where they run is the server's RunEnv).
    Profile("studio-dream", (Part(DreamSpec),), command=False),
    Profile("studio-grid", (Part(VisSpec, STUDIO_VIS, exclude=ACCENT_ONLY + CARICATURE_ONLY),), command=False),
    Profile("studio-maps", (Part(VisSpec, STUDIO_VIS, exclude=ACCENT_ONLY + CARICATURE_ONLY),), command=False),
    Profile("studio-zoom", (Part(MotionSpec, STUDIO_MOTION),), command=False),
    Profile("studio-live", (Part(LiveSpec), Part(DreamSpec, LIVE_SPEC, only=LIVE_LOOK)), command=False),
)


def profile(name: str) -> Profile:
    """The profile of a command or studio tab by name."""
    return PROFILES[name]
