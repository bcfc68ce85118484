"""Lite0's frozen-conv kernels: one-pass TF "same" padding, conv + ReLU6 in one oneDNN kernel.

The backward computes the input's gradient only (the weights never need one). Measured in ``bench/step.py``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


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
