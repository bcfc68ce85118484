"""EfficientNet-Lite0 in plain PyTorch, laid out like timm's ``tf_efficientnet_lite0``.

Lite1-4 are the same network scaled in width and depth (``scaled_stages``); the stem, head and
the first and last stages' repeats stay fixed in the Lite family.

Our own compact definition so the bundled model loads without importing timm (about 2 s
of start-up). Module names match timm's, so ``blocks.3`` here is ``blocks.3`` there, and a
test checks that both give the same logits on the same weights.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

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


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    """channels_last when ``x`` is laid out that way (and not also plain contiguous), else contiguous."""
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def _pad(x: torch.Tensor, pads: tuple[int, int, int, int], dtype: torch.dtype) -> torch.Tensor:
    """Zero-pad (B, C, H, W) by (left, right, top, bottom) into a new ``dtype`` tensor in one pass.

    ``F.pad`` (and a cast after it) fills the whole padded tensor, copies the interior in, then
    copies it again to convert; on Lite0's large stride-2 layers those passes were a tenth of an
    ascent step. Here the interior is copied (and converted) once and only the border is zeroed.
    """
    left, right, top, bottom = pads
    n, c, h, w = x.shape
    fmt = _memory_format(x)
    out = torch.empty((n, c, top + h + bottom, left + w + right), dtype=dtype, device=x.device, memory_format=fmt)
    out[..., top : top + h, left : left + w].copy_(x)
    out[..., :top, :].zero_()
    out[..., top + h :, :].zero_()
    out[..., top : top + h, :left].zero_()
    out[..., top : top + h, left + w :].zero_()
    return out


def _unpad(grad: torch.Tensor, pads: tuple[int, int, int, int], dtype: torch.dtype) -> torch.Tensor:
    """The interior of a padded gradient, as a new ``dtype`` tensor in ``grad``'s layout (one pass)."""
    left, right, top, bottom = pads
    inner = grad[..., top : grad.shape[-2] - bottom, left : grad.shape[-1] - right]
    out = torch.empty(inner.shape, dtype=dtype, device=grad.device, memory_format=_memory_format(grad))
    return out.copy_(inner)


def _slow_bf16_backward(conv: nn.Conv2d, grad: torch.Tensor) -> bool:
    """Whether oneDNN's bf16 input gradient of this conv is the slow one: strided depthwise, on the CPU.

    Measured about 9x slower than fp32 (3x3, stride 2, 96 channels at 256 px: 124 ms vs 16 ms).
    """
    depthwise = conv.groups > 1 and conv.groups == conv.in_channels
    return grad.device.type == "cpu" and grad.dtype == torch.bfloat16 and depthwise and max(conv.stride) > 1


class _FrozenConv(torch.autograd.Function):
    """A frozen conv (TF-"same" padded, and/or with its ReLU6 fused in) and the input gradient only.

    Forward: the one-pass pad, then the conv, with the clamp fused into oneDNN's kernel when
    ``relu6``. Backward: the clamp's mask from the saved output, then the conv's input gradient,
    which reads nothing of the input but its shape; for a strided depthwise conv in bf16 on the
    CPU it is computed in fp32 (``_slow_bf16_backward``), and un-padding converts it back.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, conv: nn.Conv2d, relu6: bool) -> torch.Tensor:
        """conv(x), clamped to [0, 6] when ``relu6``, computed in the conv's weights' dtype."""
        pads = conv.same_pads(*x.shape[-2:]) if isinstance(conv, Conv2dSame) else (0, 0, 0, 0)
        dtype = conv.weight.dtype
        padded = _pad(x, pads, dtype) if any(pads) else x.to(dtype)
        padding = [0, 0] if isinstance(conv, Conv2dSame) else list(conv.padding)
        args = (padding, list(conv.stride), list(conv.dilation), conv.groups)
        if relu6:
            y = torch.ops.mkldnn._convolution_pointwise(
                padded, conv.weight, conv.bias, *args, "hardtanh", [0.0, 6.0], ""
            )
        else:
            y = F.conv2d(padded, conv.weight, conv.bias, conv.stride, padding, conv.dilation, conv.groups)
        ctx.save_for_backward(y if relu6 else None)
        ctx.conv, ctx.relu6, ctx.args, ctx.pads = conv, relu6, args, pads
        ctx.padded_shape, ctx.dtype, ctx.fmt = padded.shape, x.dtype, _memory_format(padded)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        """The input's gradient (weights are frozen)."""
        (y,) = ctx.saved_tensors
        if ctx.relu6:
            grad = torch.ops.aten.hardtanh_backward(grad, y, 0.0, 6.0)
        weight = ctx.conv.weight
        if _slow_bf16_backward(ctx.conv, grad):
            grad, weight = grad.float(), weight.float()
        padding, stride, dilation, groups = ctx.args
        shape_only = torch.empty(ctx.padded_shape, dtype=grad.dtype, device=grad.device, memory_format=ctx.fmt)
        mask = [True, False, False]
        (gx, _, _) = torch.ops.aten.convolution_backward(
            grad, shape_only, weight, None, stride, padding, dilation, False, [0, 0], groups, mask
        )
        return _unpad(gx, ctx.pads, ctx.dtype) if any(ctx.pads) else gx.to(ctx.dtype), None, None


class Conv2dSame(nn.Conv2d):
    """Convolution with TensorFlow's "same" padding, so any input size is handled like TF.

    Frozen, it runs as ``_FrozenConv``: one-pass padding and, in a bf16 network on the CPU, a
    strided depthwise input gradient computed in fp32, so ``dreamer.nets.precision.strided_depthwise_in_fp32``
    leaves its weights in bf16 (``bf16_backward_in_fp32``).
    """

    bf16_backward_in_fp32 = True

    def same_pads(self, ih: int, iw: int) -> tuple[int, int, int, int]:
        """(left, right, top, bottom) padding TF's "same" gives an ih x iw input."""
        kh, kw = self.kernel_size
        sh, sw = self.stride
        pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        return (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad for the input's size, convolve; returns the input's dtype."""
        if self.weight.requires_grad:  # trainable: plain autograd, weight gradients included
            pads = self.same_pads(*x.shape[-2:])
            return super().forward(F.pad(x, pads).to(self.weight.dtype)).to(x.dtype)
        return _FrozenConv.apply(x, self, False).to(x.dtype)


@functools.cache
def _fused_kernel_available() -> bool:
    """Whether oneDNN's fused convolution exists in this torch build and computes conv + clamp here.

    Checked once on a tiny input, so a build or CPU where the private op is missing or
    misbehaves falls back to the separate modules instead of failing a render.
    """
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        with torch.no_grad():
            x = torch.linspace(-4.0, 4.0, 2 * 5 * 5).view(1, 2, 5, 5)
            w = torch.linspace(-1.0, 3.0, 4 * 2 * 3 * 3).view(4, 2, 3, 3)
            b = torch.linspace(-1.0, 1.0, 4)
            args = ([1, 1], [1, 1], [1, 1], 1, "hardtanh", [0.0, 6.0], "")
            fused = torch.ops.mkldnn._convolution_pointwise(x, w, b, *args)
            return bool(torch.allclose(fused, F.conv2d(x, w, b, padding=1).clamp(0.0, 6.0), atol=1e-5))
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


def _observed(*modules: nn.Module) -> bool:
    """Whether anyone hooks these modules (or all modules), so each must run as itself."""
    hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    global_hooks = (
        "_global_forward_hooks",
        "_global_forward_pre_hooks",
        "_global_backward_hooks",
        "_global_backward_pre_hooks",
    )
    if any(getattr(nn.modules.module, name, None) for name in global_hooks):
        return True
    return any(getattr(m, name, None) for m in modules for name in hooks)


def conv_relu6(conv: nn.Conv2d, bn: nn.Module, act: nn.Module, x: torch.Tensor, fuse: bool = True) -> torch.Tensor:
    """``act(bn(conv(x)))``, as one fused CPU kernel where that is exact and nobody watches the middle.

    Fused only on the CPU, for a frozen conv (plain or TF-"same") whose batch-norm was folded
    away (``bn`` is Identity), computing in the conv's weights' dtype and returning the input's,
    and only while no hook is on the three modules, so hooking ``conv_pw`` or ``act1`` by name
    still sees their own outputs.
    """
    fusable = (
        fuse
        and type(conv) in (nn.Conv2d, Conv2dSame)
        and isinstance(bn, nn.Identity)
        and isinstance(act, nn.ReLU6)
        and conv.padding_mode == "zeros"
        and not isinstance(conv.padding, str)
        and not conv.weight.requires_grad
        and x.device.type == "cpu"
        and conv.weight.dtype in (torch.float32, torch.bfloat16)
        and _fused_kernel_available()
        and not _observed(conv, bn, act)
    )
    return _FrozenConv.apply(x, conv, True).to(x.dtype) if fusable else act(bn(conv(x)))


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
