"""Frozen settings for a render: every knob the CLI, styles and metadata share."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from dreamer.errors import DreamerError

SMOOTH_CHOICES = ("none", "gaussian", "laplacian")  # gradient shaping, see dreamer.core.smoothing


@dataclass(frozen=True)
class DreamConfig:
    """Every render knob, with defaults that give a good dream on the bundled model."""

    model: str = "lite0"
    weights: str | None = None
    layers: tuple[str, ...] = ()  # objective specs, e.g. "blocks.4" or "blocks.3[5,9]:0.5"; () = model default
    octaves: int = 4
    octave_scale: float = 1.4
    steps: int = 10  # per octave
    step_size: float = 0.015
    jitter: int = 32  # pixels of random roll, drawn over height and width
    normalize: str = "mean"  # gradient normalisation: "mean" (mean |g|, the original) or "std"
    seed: int | None = None
    max_side: int = 1024  # work size: the longer side is scaled down to this
    tile: int = 0  # tile size in pixels; 0 = automatic (tiles only for large octaves)
    device: str = "auto"
    # network dtype: auto (bf16 on CPUs with native bf16, else fp32), fp32, bf16, fp16 (CUDA); the image stays fp32
    precision: str = "auto"
    resize_back: bool = True  # return the dream at the input's size
    guide: str | None = None  # guide image path: grow its features (replaces the default layer objective)
    guide_layer: str | None = None  # layer the guide is matched at; None = the model's dream layer
    smooth: str = "gaussian"  # gradient shaping: "none", "gaussian" (sigma cascade) or "laplacian" (pyramid)
    keep_colors: bool = False  # dream the luminance only, keep the photo's chroma (YCbCr)
    strength: float = 1.0  # blend of the dream with the original: 0 = original, 1 = full dream
    mask: str | None = None  # grayscale mask path: dream only where it is light

    def __post_init__(self) -> None:
        """Reject values no render can use, naming the option."""
        checks = (
            (self.octaves >= 1, "octaves", "must be at least 1"),
            (self.octave_scale > 1.0, "octave-scale", "must be greater than 1"),
            (self.steps >= 0, "steps", "must be 0 or more"),
            (self.step_size > 0, "step-size", "must be positive"),
            (self.jitter >= 0, "jitter", "must be 0 or more"),
            (self.normalize in ("mean", "std"), "normalize", "must be 'mean' or 'std'"),
            (self.max_side >= 16, "max-side", "must be at least 16"),
            (self.tile == 0 or self.tile >= 64, "tile", "must be 0 (automatic) or at least 64"),
            (self.smooth in SMOOTH_CHOICES, "smooth", f"must be one of {', '.join(SMOOTH_CHOICES)}"),
            (0.0 <= self.strength <= 1.0, "strength", "must be between 0 and 1"),
            (self.precision in ("auto", "fp32", "bf16", "fp16"), "precision", "must be auto, fp32, bf16 or fp16"),
        )
        for ok, name, why in checks:
            if not ok:
                raise DreamerError(f"--{name} {why} (got {getattr(self, name.replace('-', '_'))!r})")
        object.__setattr__(self, "layers", tuple(self.layers))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every knob, for metadata and manifests."""
        d = dataclasses.asdict(self)
        d["layers"] = list(self.layers)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DreamConfig:
        """Build from a dict (e.g. a PNG's metadata), ignoring keys this version does not know."""
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in data.items() if k in names}
        if "layers" in known:
            known["layers"] = tuple(known["layers"])
        return cls(**known)

    def replace(self, **changes: Any) -> DreamConfig:
        """A copy with some knobs changed."""
        return dataclasses.replace(self, **changes)


# Lighter than a still: each zoom frame adds a little dream on top of the last one.
ZOOM_CONFIG = DreamConfig(octaves=3, steps=5, step_size=0.012, max_side=320)


@dataclass(frozen=True)
class VisConfig:
    """Feature-visualisation knobs: what to optimise from noise, how long and how."""

    model: str = "lite0"
    weights: str | None = None
    size: int = 128  # pixels, square
    steps: int = 256
    lr: float = 0.05  # Adam learning rate
    param: str = "fourier"  # "fourier" (Lucid's decorrelated spectrum) or "pixel"
    decorrelate: bool = True  # fixed colour-decorrelation matrix before the sigmoid
    transforms: bool = True  # pad, jitter, scale, rotate at every step
    batch: int = 32  # images optimised together; 1 = one at a time
    seed: int | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        """Reject values no visualisation can use, naming the option."""
        checks = (
            (self.size >= 32, "size", "must be at least 32"),
            (self.steps >= 0, "steps", "must be 0 or more"),
            (self.lr > 0, "lr", "must be positive"),
            (self.param in ("fourier", "pixel"), "param", "must be 'fourier' or 'pixel'"),
            (self.batch >= 1, "batch", "must be at least 1"),
        )
        for ok, name, why in checks:
            if not ok:
                raise DreamerError(f"--{name} {why} (got {getattr(self, name)!r})")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every knob, for PNG metadata."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> VisConfig:
        """A copy with some knobs changed."""
        return dataclasses.replace(self, **changes)
