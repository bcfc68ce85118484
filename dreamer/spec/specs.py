"""Every knob of dreamer, declared once: what a dream, a visualisation and an animation are made of.

``DreamSpec`` and ``VisSpec`` hold the look (replayed and hashed) and the files a run reads;
``RunEnv`` holds where it runs (never replayed); ``MotionSpec`` the zoom animation's camera.
``VideoSpec`` (``dreamer.spec.video``) and ``LessonSpec`` (``dreamer.spec.lesson``) sit beside them;
the presets built from them are in ``dreamer.spec.presets``, which command takes which in ``profiles``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from typing import Any

from dreamer.errors import DreamerError
from dreamer.spec.schema import MAX_INT, Kind, knob, validate

SMOOTH_CHOICES = ("none", "gaussian", "laplacian")  # gradient shaping, see dreamer.core.smoothing
NORMALIZE_CHOICES = ("mean", "std")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")  # auto resolves to one of the others per machine
EXECUTOR_CHOICES = ("local", "pool", "ray")  # where a batch runs (galleries, chunked video), see dreamer.runners
DEFAULT_MODEL = "lite0"  # the bundled EfficientNet-Lite0 (offline), registered in dreamer.nets.zoo


@dataclass(frozen=True)
class ParamDefaults:
    """The knobs a feature-visualisation parametrisation runs with when the spec leaves them out."""

    steps: int
    lr: float


# One row per parametrisation (its leaf and optimiser: dreamer.featvis.param.LEAVES).
PARAM_DEFAULTS = {
    "maco": ParamDefaults(steps=128, lr=1.0),
    "fourier": ParamDefaults(steps=256, lr=0.05),
    "pixel": ParamDefaults(steps=256, lr=0.05),
}
PARAM_CHOICES = tuple(PARAM_DEFAULTS)

LAYER_HELP = (
    "Layer objective, repeatable: LAYER[CHANNELS][:WEIGHT], e.g. -l blocks.4, -l blocks.3:0.5, "
    "-l 'blocks.4[3,17,40-47]', -l blocks.2:-1 (negative weight suppresses), one neuron: "
    "-l 'blocks.4[7]@center' or 'blocks.4[7]@Y,X', one channel's mean: 'blocks.4[7]@mean'. "
    "Default: the model's dream layer."
)
CARICATURE_HELP = "dreamer caricature: layer matched to the photo, amplified; repeatable, LAYER[:WEIGHT]."
CARICATURE_POWER_HELP = "dreamer caricature: p of dot * max(cos, 0.1)^p; higher stays closer to the photo's direction."
MODEL_HELP = (
    f"{DEFAULT_MODEL} (bundled EfficientNet-Lite0, offline) or a torchvision classifier name (downloads its weights)."
)
FRAMES_DIR_HELP = (
    "Where frames go (and a resume looks). "
    "[default: the folder -o names, else NAME_EXT_frames/ beside it, e.g. dream_mp4_frames/]"
)
ADVANCED = "advanced"  # the knobs group an artist rarely needs: shown last and closed (the studio)
SEED_HELP = "Random seed: the same seed gives the same image. Not given: a random one, recorded in the PNG."


# The knobs several specs share, each declared once here (a dataclass field cannot be reused between classes).
def model_knob() -> Any:
    """``model``: the network by registry name."""
    return knob(DEFAULT_MODEL, MODEL_HELP, group="layers")


def weights_knob() -> Any:
    """``weights``: a state-dict file loaded into the model."""
    return knob(
        None, "State-dict file to load into --model (loaded with weights_only).", kind=Kind.FILE, group=ADVANCED
    )


def seed_knob() -> Any:
    """``seed``: the run's random seed, drawn and recorded when not given."""
    return knob(None, SEED_HELP, lo=0, hi=MAX_INT, show="random, recorded", group="steps")


def max_side_knob(default: int) -> Any:
    """``max_side``: the work size of a photo."""
    return knob(
        default,
        "Work size: the longer side is scaled down to this many pixels.",
        lo=16,
        hi=65_536,
        group="octaves",
        quick=64,
    )


def _per_param(knob_name: str) -> str:
    """A per-parametrisation default as help shows it: ``128 with maco, else 256``."""
    values = {name: getattr(row, knob_name) for name, row in PARAM_DEFAULTS.items()}
    common = max(values.values(), key=list(values.values()).count)
    return ", ".join([*(f"{v} with {name}" for name, v in values.items() if v != common), f"else {common}"])


class Spec:
    """Shared behaviour of the frozen spec dataclasses: checked on creation, copied with changes."""

    def __post_init__(self) -> None:
        """Check every knob's type and range (an error names the argument: it carries the field)."""
        validate(self)

    def replace(self, **changes: Any) -> Any:
        """A copy with some knobs changed (checked again); an unknown name is an error that suggests one."""
        names = [f.name for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        for name in changes:
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise DreamerError(f"{type(self).__name__} has no setting {name!r}{hint}")
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class DreamSpec(Spec):
    """What a dream looks like: every render knob, with defaults that give a good dream on the bundled model."""

    model: str = model_knob()
    weights: str | None = weights_knob()
    layers: tuple[str, ...] = knob(
        (), LAYER_HELP, short="-l", flag="layer", show="the model's dream layer", group="layers"
    )
    octaves: int = knob(4, "Number of scales, smallest first.", lo=1, hi=32, group="octaves", quick=2)
    octave_scale: float = knob(1.4, "Size ratio between octaves.", lo=1.0, lo_open=True, hi=8.0, group="octaves")
    steps: int = knob(10, "Ascent steps per octave.", lo=0, hi=100_000, group="steps", quick=2)
    step_size: float = knob(
        0.01, "Step on the normalised gradient, image in [0, 1].", lo=0.0, lo_open=True, hi=10.0, group="steps"
    )
    jitter: int = knob(
        32, "Random roll in pixels over height and width, undone after each step.", lo=0, hi=4096, group="steps"
    )
    normalize: str = knob(
        "mean",
        "Gradient normalisation: mean absolute value (the original) or standard deviation.",
        choices=NORMALIZE_CHOICES,
        group="steps",
    )
    seed: int | None = seed_knob()
    max_side: int = max_side_knob(1024)
    resize_back: bool = knob(True, "Return the dream at the input's size.", group="look")
    smooth: str = knob(
        "gaussian",
        "Gradient shaping: Gaussian sigma cascade, Laplacian pyramid, or none.",
        choices=SMOOTH_CHOICES,
        group="look",
    )
    keep_colors: bool = knob(False, "Dream the luminance only; keep the photo's colours.", group="colour")
    strength: float = knob(
        1.0, "Blend with the original: 0 = the photo, 1 = the full dream.", lo=0.0, hi=1.0, group="colour"
    )
    mask: str | None = knob(
        None,
        "Grayscale image: dream only where it is light (soft edges); '' clears a style's.",
        kind=Kind.FILE,
        group="mask",
    )
    guide: str | None = knob(
        None,
        "Guide image: grow its textures and objects (replaces the default layer objective); '' clears a style's.",
        kind=Kind.FILE,
        group="guide",
    )
    guide_layer: str | None = knob(
        None, "Layer the guide is matched at.", show="the model's dream layer", group="guide"
    )


@dataclass(frozen=True)
class RunEnv(Spec):
    """Where and how a run executes: resolved on the machine that runs it, never replayed from a file."""

    device: str = knob("auto", "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps.", kind=Kind.ENV, group="run")
    precision: str = knob(
        "auto",
        "Network dtype; auto = bf16 on CPUs with native bf16, else fp32; fp16 needs CUDA. "
        "The image and its gradient stay fp32.",
        kind=Kind.ENV,
        choices=PRECISION_CHOICES,
        group="run",
    )
    tile: int = knob(
        0,
        "Tile size for large images in pixels; 0 = automatic (512 px tiles above 1 megapixel).",
        kind=Kind.ENV,
        lo=0,
        hi=65_536,
        group="run",
    )

    def __post_init__(self) -> None:
        """Check the knobs, then the one rule a range cannot say: a tile is 0 or at least 64 px."""
        super().__post_init__()
        if 0 < self.tile < 64:
            raise DreamerError(f"must be 0 (automatic) or at least 64 (got {self.tile})", field="tile")


@dataclass(frozen=True)
class VisSpec(Spec):
    """Feature visualisation: what to optimise from noise, how long and how."""

    model: str = model_knob()
    weights: str | None = weights_knob()
    size: int = knob(128, "Side of each visualisation in pixels (square).", lo=32, hi=2048, group="look", quick=32)
    steps: int | None = knob(
        None, "Optimisation steps.", lo=0, hi=100_000, show=_per_param("steps"), group="steps", quick=2
    )
    lr: float | None = knob(
        None,
        "Learning rate (NAdam with maco, Adam otherwise).",
        lo=0.0,
        lo_open=True,
        hi=100.0,
        show=_per_param("lr"),
        group="steps",
    )
    param: str = knob(
        "maco",
        "Image parametrisation: maco (natural magnitude spectrum, optimised phase, noisy crops), "
        "fourier (Lucid's decorrelated 1/f spectrum) or plain pixels.",
        choices=PARAM_CHOICES,
        group="look",
    )
    decorrelate: bool = knob(True, "Fixed colour-decorrelation matrix before the sigmoid.", group="look")
    transforms: bool = knob(True, "Random pad, jitter, scale and rotation at each step (fourier, pixel).", group="look")
    batch: int = knob(32, "Images optimised together; 1 = one at a time.", lo=1, hi=4096, group="steps")
    spectrum: str = knob(
        "natural",
        "maco's magnitude spectrum: natural (shipped, from the bundled photos), powerlaw (its 1/f^b fit) "
        "or a folder of photos to average.",
        group="look",
    )
    crops: int = knob(4, "maco: random crops of each image scored per step.", lo=1, hi=64, group="look")
    crop_min: float = knob(
        0.4, "maco: smallest crop side, as a fraction of the image side.", lo=0.05, hi=1.0, group="look"
    )
    crop_max: float = knob(
        0.9, "maco: largest crop side at the start (shrinks halfway to crop-min).", lo=0.05, hi=1.0, group="look"
    )
    crop_noise: float = knob(0.05, "maco: Gaussian and uniform noise added to each crop.", lo=0.0, hi=1.0, group="look")
    diversity: int = knob(
        1, "Images per cell, pushed apart by a Gram-matrix diversity penalty (1 = off).", lo=1, hi=64, group="look"
    )
    diversity_weight: float = knob(
        10.0, "Weight of the diversity penalty (Gram cosine, 0-1) against the objective.", lo=0.0, hi=1e6, group="look"
    )
    diversity_layer: str | None = knob(
        None, "Layer whose Gram matrices are compared.", show="the objective's layer", group="look"
    )
    alpha: bool = knob(
        False,
        "Transparency from the accumulated input-gradient importance (RGBA; checkerboard in sheets).",
        group="look",
    )
    caricature_layers: tuple[str, ...] = knob(
        (), CARICATURE_HELP, short="-l", flag="layer", show="the model's dream layer", group="layers"
    )
    caricature_power: float = knob(2.0, CARICATURE_POWER_HELP, lo=0.0, hi=16.0, flag="power", group="look")
    accent_layer: str | None = knob(
        None, "dreamer accent: layer kept close to the photo's activations.", show="earliest dream layer", group="look"
    )
    accent_weight: float = knob(
        3.0,
        "dreamer accent: weight of that closeness; 1 = as strong as the target at step 0.",
        lo=0.0,
        hi=1e6,
        group="look",
    )
    seed: int | None = seed_knob()

    @property
    def step_count(self) -> int:
        """The steps in use: the given count, or the parametrisation's default."""
        return self.steps if self.steps is not None else PARAM_DEFAULTS[self.param].steps

    @property
    def learning_rate(self) -> float:
        """The learning rate in use: the given one, or the parametrisation's default."""
        return self.lr if self.lr is not None else PARAM_DEFAULTS[self.param].lr


def parse_pan(text: str) -> tuple[float, float]:
    """``"DX,DY"`` in pixels per frame -> (dx, dy); anything else is a one-line error."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        dx, dy = (float(p) for p in parts)
    except ValueError:
        raise DreamerError(
            f"must be two numbers DX,DY in pixels per frame, e.g. 2,-1 (got {text!r})", field="pan"
        ) from None
    if not (math.isfinite(dx) and math.isfinite(dy)):
        raise DreamerError(f"values must be finite numbers (got {text!r})", field="pan")
    return dx, dy


@dataclass(frozen=True)
class MotionSpec(Spec):
    """The zoom animation's camera: how each frame moves into the last one's dream."""

    frames: int = knob(60, "Number of frames.", lo=1, hi=100_000, group="motion", quick=3)
    zoom: float = knob(1.04, "Zoom in per frame.", lo=0.0, lo_open=True, hi=10.0, group="motion")
    rotate: float = knob(
        0.0, "Rotation per frame, degrees (+ = counter-clockwise).", lo=-360.0, hi=360.0, group="motion"
    )
    pan: tuple[float, float] = knob(
        (0.0, 0.0),
        "Move the view per frame: DX,DY in pixels.",
        parse=parse_pan,
        show="0,0",
        lo=-10_000,
        hi=10_000,
        group="motion",
    )
    fps: float = knob(24.0, "Frames per second of the GIF or MP4.", lo=0.0, lo_open=True, hi=1000.0, group="motion")
