"""EfficientNet-Lite0 in plain PyTorch, laid out like timm's ``tf_efficientnet_lite0``.

Lite1-4 are the same network scaled in width and depth (``scaled_stages``); the stem, head and
the first and last stages' repeats stay fixed in the Lite family.

Our own compact definition so the bundled model loads without importing timm (about 2 s
of start-up). Module names match timm's, so ``blocks.3`` here is ``blocks.3`` there, and a
test checks that both give the same logits on the same weights.
"""

from __future__ import annotations

import math
import re

import torch
from torch import nn

from dreamer.nets.kernels import Conv2dSame, conv_relu6

BN_EPS = 1e-3  # TensorFlow's default: the weights were trained with it

# (block kind, repeats, kernel, stride, expansion, output channels) for each stage
STAGES = (
    ("ds", 1, 3, 1, 1, 16),
    ("ir", 2, 3, 2, 6, 24),
    ("ir", 2, 5, 2, 6, 40),
    ("ir", 3, 3, 2, 6, 80),
    ("ir", 3, 5, 1, 6, 112),
    ("ir", 4, 5, 2, 6, 192),
    ("ir", 1, 3, 1, 6, 320),
)


def scaled_stages(width: float = 1.0, depth: float = 1.0) -> tuple[tuple[str, int, int, int, int, int], ...]:
    """STAGES scaled like EfficientNet-Lite: channels by ``width`` (to multiples of 8), inner repeats by ``depth``."""

    def channels(c: int) -> int:
        scaled = c * width
        rounded = max(8, int(scaled + 4) // 8 * 8)
        return rounded + 8 if rounded < 0.9 * scaled else rounded

    last = len(STAGES) - 1
    return tuple(
        (kind, r if i in (0, last) else math.ceil(r * depth), k, s, e, channels(c))
        for i, (kind, r, k, s, e, c) in enumerate(STAGES)
    )


def set_fused(net: nn.Module, fuse: bool) -> None:
    """Switch the conv + ReLU6 fusion on or off in every Lite0 block of ``net`` (benches compare both)."""
    for m in net.modules():
        if isinstance(m, (DepthwiseSeparable, InvertedResidual, EfficientNetLite0)):
            m.fuse = fuse


def _conv(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """A bias-free conv; stride 1 uses static symmetric padding (what "same" gives there)."""
    if stride == 1:
        return nn.Conv2d(cin, cout, k, 1, k // 2, groups=groups, bias=False)
    return Conv2dSame(cin, cout, k, stride, 0, groups=groups, bias=False)


class DepthwiseSeparable(nn.Module):
    """First-stage block: depthwise conv, ReLU6, pointwise projection."""

    def __init__(self, cin: int, cout: int, k: int, stride: int) -> None:
        super().__init__()
        self.conv_dw = _conv(cin, cin, k, stride, groups=cin)
        self.bn1 = nn.BatchNorm2d(cin, eps=BN_EPS)
        self.act1 = nn.ReLU6()
        self.conv_pw = _conv(cin, cout, 1)
        self.bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.has_skip = stride == 1 and cin == cout
        self.fuse = True  # conv + ReLU6 as one kernel where exact (see conv_relu6; set_fused switches it)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the block, with the residual where shapes allow."""
        y = self.bn2(self.conv_pw(conv_relu6(self.conv_dw, self.bn1, self.act1, x, self.fuse)))
        return x + y if self.has_skip else y


class InvertedResidual(nn.Module):
    """MobileNetV2 block: expand, depthwise, project (no squeeze-excite in the Lite models)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.conv_pw = _conv(cin, mid, 1)
        self.bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self.act1 = nn.ReLU6()
        self.conv_dw = _conv(mid, mid, k, stride, groups=mid)
        self.bn2 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self.act2 = nn.ReLU6()
        self.conv_pwl = _conv(mid, cout, 1)
        self.bn3 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.has_skip = stride == 1 and cin == cout
        self.fuse = True  # conv + ReLU6 as one kernel where exact (see conv_relu6; set_fused switches it)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the block, with the residual where shapes allow."""
        y = conv_relu6(self.conv_pw, self.bn1, self.act1, x, self.fuse)
        y = conv_relu6(self.conv_dw, self.bn2, self.act2, y, self.fuse)  # strided: TF padding, maybe fp32 in bf16
        y = self.bn3(self.conv_pwl(y))
        return x + y if self.has_skip else y


class EfficientNetLite0(nn.Module):
    """The EfficientNet-Lite0 classifier: stem, seven stages of blocks, head, classifier."""

    def __init__(self, num_classes: int = 1000, width: float = 1.0, depth: float = 1.0) -> None:
        super().__init__()
        self.stages = scaled_stages(width, depth)
        self.conv_stem = _conv(3, 32, 3, 2)
        self.bn1 = nn.BatchNorm2d(32, eps=BN_EPS)
        self.act1 = nn.ReLU6()
        stages, cin = [], 32
        for kind, repeats, k, stride, expand, cout in self.stages:
            blocks = []
            for i in range(repeats):
                s = stride if i == 0 else 1
                if kind == "ds":
                    blocks.append(DepthwiseSeparable(cin, cout, k, s))
                else:
                    blocks.append(InvertedResidual(cin, cout, k, s, expand))
                cin = cout
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.conv_head = _conv(cin, 1280, 1)
        self.bn2 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self.act2 = nn.ReLU6()
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(1280, num_classes)
        self.fuse = True
        self._init_weights()

    def _init_weights(self) -> None:
        """EfficientNet's own init (He, fan-out), so even random weights give lively activations."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.weight.shape[0])
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Image normalised to [-1, 1] (B, 3, H, W) -> logits (B, classes)."""
        x = conv_relu6(self.conv_stem, self.bn1, self.act1, x, self.fuse)
        x = self.blocks(x)
        x = conv_relu6(self.conv_head, self.bn2, self.act2, x, self.fuse)
        return self.classifier(self.global_pool(x).flatten(1))


def _stage_index(stages: tuple = STAGES) -> list[tuple[int, int]]:
    """Flat lukemelas block number -> (stage, index within stage)."""
    return [(s, i) for s, (_, repeats, *_rest) in enumerate(stages) for i in range(repeats)]


_RENAMES = (
    (r"^_conv_stem\.", "conv_stem."),
    (r"^_bn0\.", "bn1."),
    (r"^_conv_head\.", "conv_head."),
    (r"^_bn1\.", "bn2."),
    (r"^_fc\.", "classifier."),
)
_BLOCK_RENAMES = {
    "_expand_conv": "conv_pw",
    "_depthwise_conv": "conv_dw",
    "_project_conv": "conv_pwl",
}


def convert_lukemelas_keys(state: dict[str, torch.Tensor], stages: tuple = STAGES) -> dict[str, torch.Tensor]:
    """Rename lukemelas ``efficientnet_pytorch`` keys to our (and timm's) names; others pass."""
    where = _stage_index(stages)
    out = {}
    for key, value in state.items():
        m = re.match(r"^_blocks\.(\d+)\.(\w+)\.(.+)$", key)
        if m:
            n, part, rest = int(m.group(1)), m.group(2), m.group(3)
            stage, idx = where[n]
            if stage == 0:  # depthwise-separable: _depthwise_conv, _bn1, _project_conv, _bn2
                part = {"_depthwise_conv": "conv_dw", "_project_conv": "conv_pw"}.get(part, part)
                part = {"_bn1": "bn1", "_bn2": "bn2"}.get(part, part)
            else:  # inverted residual: _bn0 after expand, _bn1 after depthwise, _bn2 after project
                part = _BLOCK_RENAMES.get(part, part)
                part = {"_bn0": "bn1", "_bn1": "bn2", "_bn2": "bn3"}.get(part, part)
            key = f"blocks.{stage}.{idx}.{part}.{rest}"
        else:
            for pattern, repl in _RENAMES:
                key = re.sub(pattern, repl, key)
        out[key] = value
    return out
